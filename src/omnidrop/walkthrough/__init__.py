"""360 walkthroughs: projects, drawings (floor plans) and upload objects linking finished videos."""
