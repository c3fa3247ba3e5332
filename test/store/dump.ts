// A full, deterministic dump of a SQLite store file (schema and every row of every table), read through
// a separate read-only connection: two equal dumps mean the file's content did not change.
import { DatabaseSync } from "node:sqlite";
import { jsonOf } from "./behaviour.ts";

export function dumpDatabase(path: string): string {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string; sql: string }[];
    const dump: Record<string, unknown> = { schema: tables.map((t) => t.sql) };
    for (const { name } of tables) dump[name] = db.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all();
    return jsonOf(dump);
  } finally {
    db.close();
  }
}
