"""The metadata schema, one module per domain. Alembic migrations in `migrations/versions` create it.

Every model module is imported here so `Base.metadata` is complete for Alembic and the app.
Migrations may branch from any earlier revision: `omnidrop db upgrade` applies all heads.
"""

from omnidrop.db.models.base import Base
from omnidrop.db.models.core import ApiKey, Owner, UploadFile, UploadSession

__all__ = ["ApiKey", "Base", "Owner", "UploadFile", "UploadSession"]
