"""Run analyses on many small worlds with their SQL compiled once.

A hypothesis example used to pay an Ibis compilation per query (~0.1 s, most of its time);
here each analysis is built once over DuckDB tables (by default one, ``world``, of canonical
flows), compiled, and each example replaces the tables' rows and runs that same SQL. What runs
is exactly what the analysis compiles to; only the rows change. Several analyses of the same
rows load them once (``load``, then ``query`` each).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

import ibis
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pandas as pd
from ibis.formats.pandas import PandasData

#: The canonical flow columns of ``oracle.flows_frame``, as an Ibis schema.
WORLD = {
    "year": "int16",
    "exporter": "string",
    "importer": "string",
    "product": "string",
    "value_usd": "float64",
    "quantity_t": "float64",
}


class CompiledOnce:
    """Analyses over named tables (``world`` unless ``tables`` says otherwise: name -> Ibis
    schema), each compiled the first time it is run."""

    def __init__(self, tables: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.con = ibis.duckdb.connect()
        tables = {"world": WORLD} if tables is None else tables
        for name, schema in tables.items():
            self.con.create_table(name, schema=ibis.schema(dict(schema)))
        names = list(tables)
        #: The tables, in the order ``build`` functions take them.
        self.tables = [self.con.table(name) for name in names]
        self._queries: dict[Hashable, tuple[str, sch.Schema]] = {}

    @property
    def world(self) -> ir.Table:
        """The first table (``world`` by default)."""
        return self.tables[0]

    def run(
        self,
        build: Callable[[ir.Table], ir.Table],
        world: pd.DataFrame,
        key: Hashable | None = None,
    ) -> pd.DataFrame:
        """``build(world)`` executed on the rows of ``world``; ``key`` names the analysis when
        ``build`` is made anew for each call (a lambda over its parameters)."""
        self.load(world=world)
        return self.query(build, key)

    def load(self, **frames: pd.DataFrame) -> None:
        """Replace the rows of each named table by those of its frame."""
        duck = self.con.con
        for name, frame in frames.items():
            duck.execute(f"DELETE FROM {name}")
            duck.register("incoming", frame)
            try:
                duck.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
            finally:
                duck.unregister("incoming")

    def query(self, build: Callable[..., ir.Table], key: Hashable | None = None) -> pd.DataFrame:
        """``build(*tables)`` executed on the rows loaded last."""
        key = build if key is None else key
        if key not in self._queries:
            expr = build(*self.tables)
            self._queries[key] = (self.con.compile(expr), expr.schema())
        sql, schema = self._queries[key]
        # The same conversion to pandas as ``expr.to_pandas()``, from the same SQL's result.
        return PandasData.convert_table(self.con.con.execute(sql).df(), schema)
