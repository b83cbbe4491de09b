"""Dataset records: which imported datasets exist, where their files are (relative to the data
directory), who imported them. The files stay on disk; this is the index every node shares."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yakuba.server.db.errors import InvalidRecord
from yakuba.server.db.models import Dataset


async def upsert_dataset(s: AsyncSession, id: str, name: str, path: str, buildings: int = 0,
                         created_by: str | None = None) -> Dataset:
    """Insert or update by id (a re-import replaces the record; ``created_by`` keeps the first importer)."""
    if not id or len(id) > 100:
        raise InvalidRecord("dataset id must be 1-100 characters")
    if path.startswith("/") or ".." in path.split("/"):
        raise InvalidRecord("dataset path must be relative to the data directory")
    d = await s.get(Dataset, id)
    if d is None:
        d = Dataset(id=id, name=name, path=path, buildings=buildings, created_by=created_by)
        s.add(d)
    else:
        d.name, d.path, d.buildings = name, path, buildings
    await s.flush()
    return d


async def get_dataset(s: AsyncSession, id: str) -> Dataset | None:
    return await s.get(Dataset, id)


async def list_datasets(s: AsyncSession) -> list[Dataset]:
    return list((await s.scalars(select(Dataset).order_by(Dataset.created_at, Dataset.id))).all())


async def delete_dataset(s: AsyncSession, id: str) -> bool:
    d = await s.get(Dataset, id)
    if d is None:
        return False
    await s.delete(d)
    await s.flush()
    return True


__all__ = ["delete_dataset", "get_dataset", "list_datasets", "upsert_dataset"]
