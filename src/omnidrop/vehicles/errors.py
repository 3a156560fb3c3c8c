"""The Vehicles 360 Video API's refusals: its own upper-case codes with the spec's statuses."""

from __future__ import annotations


class VehicleError(Exception):
    code = "INVALID_REQUEST"
    status = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class FileTooLarge(VehicleError):
    code, status = "FILE_TOO_LARGE", 413


class InvalidFileType(VehicleError):
    code = "INVALID_FILE_TYPE"


class MissingVideoFile(VehicleError):
    code = "MISSING_VIDEO_FILE"


class InvalidSide(VehicleError):
    code = "INVALID_SIDE"


class InvalidVehicleUuid(VehicleError):
    code = "INVALID_VEHICLE_UUID"


class InvalidMasks(VehicleError):
    code = "INVALID_MASKS"


class JobNotFound(VehicleError):
    code, status = "JOB_NOT_FOUND", 404


class VehicleNotFound(VehicleError):
    code, status = "VEHICLE_NOT_FOUND", 404


class FramesNotReady(VehicleError):
    code, status = "FRAMES_NOT_READY", 404


class MasksNotAvailable(VehicleError):
    code, status = "MASKS_NOT_AVAILABLE", 404


class UploadFailed(VehicleError):
    code, status = "UPLOAD_FAILED", 500


class ProcessingFailed(VehicleError):
    code, status = "PROCESSING_FAILED", 500
