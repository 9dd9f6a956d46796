"""Shared helpers for the labeling tests: datasets, configs, annotations."""

from __future__ import annotations

import uuid

import pyarrow as pa

SENTIMENT = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="positive"/><Choice value="negative"/><Choice value="neutral"/>
  </Choices>
</View>"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_dataset(cat, name: str, n: int = 20):
    table = pa.table({"text": [f"review number {i}" for i in range(n)], "stars": list(range(n))})
    return cat.append(name, table, license="CC0-1.0", source="test")


def choice(value: str, control: str = "sentiment", to: str = "text") -> list[dict]:
    return [{"from_name": control, "to_name": to, "type": "choices", "value": {"choices": [value]}}]
