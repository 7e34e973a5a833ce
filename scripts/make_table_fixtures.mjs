// Writes the "metrics" fixture pair (scripts/make_fixtures.py) in every table format, into
// tests/fixtures/tables/, for the reader tests. Run after make_fixtures.py: node scripts/make_table_fixtures.mjs
import { mkdirSync, readFileSync } from "node:fs";
import { writeTables } from "./tables.mjs";

const root = new URL("../tests/fixtures/", import.meta.url);
const { a, b } = JSON.parse(readFileSync(new URL("metrics.json", root), "utf8"));
const matrix = (m) => ({ rows: m.rows, cols: m.cols, data: Float32Array.from(m.data) });
const dir = new URL("tables/", root).pathname;
mkdirSync(dir, { recursive: true });
await writeTables(matrix(a), matrix(b), dir);
console.log(`wrote ${dir}`);
