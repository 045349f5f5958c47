"""Run analyses on many small worlds with their SQL compiled once.

A hypothesis example used to pay an Ibis compilation per query (~0.1 s, most of its time);
here each analysis is built once over a DuckDB table ``world`` of canonical flows, compiled,
and each example replaces the table's rows and runs that same SQL. What runs is exactly what
the analysis compiles to; only the rows change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import ibis
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pandas as pd
from ibis.formats.pandas import PandasData

#: The canonical flow columns of ``oracle.flows_frame``, as DuckDB types.
WORLD_COLUMNS = (
    "year SMALLINT, exporter VARCHAR, importer VARCHAR, product VARCHAR, "
    "value_usd DOUBLE, quantity_t DOUBLE"
)


class CompiledOnce:
    """Analyses over one table ``world``, each compiled the first time it is run."""

    def __init__(self) -> None:
        self.con = ibis.duckdb.connect()
        self.con.raw_sql(f"CREATE TABLE world ({WORLD_COLUMNS})")
        self.world = self.con.table("world")
        self._queries: dict[Hashable, tuple[str, sch.Schema]] = {}

    def run(
        self,
        build: Callable[[ir.Table], ir.Table],
        world: pd.DataFrame,
        key: Hashable | None = None,
    ) -> pd.DataFrame:
        """``build(world)`` executed on the rows of ``world``; ``key`` names the analysis when
        ``build`` is made anew for each call (a lambda over its parameters)."""
        key = build if key is None else key
        if key not in self._queries:
            expr = build(self.world)
            self._queries[key] = (self.con.compile(expr), expr.schema())
        sql, schema = self._queries[key]
        duck = self.con.con
        duck.execute("DELETE FROM world")
        duck.register("incoming", world)
        try:
            duck.execute("INSERT INTO world BY NAME SELECT * FROM incoming")
        finally:
            duck.unregister("incoming")
        # The same conversion to pandas as ``expr.to_pandas()``, from the same SQL's result.
        return PandasData.convert_table(duck.execute(sql).df(), schema)
