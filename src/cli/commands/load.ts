import type { Command } from "commander";
import { InputError } from "../../core/errors.js";
import { clickhouseLoad } from "../../io/clickhouse.js";
import { openPairTable } from "../../io/tables.js";
import { clickhouseWait, parseInteger, TIMEOUT_OPTION } from "../options.js";
import { printResult } from "../output.js";
import { type PairFlags, pairOptions } from "../pair.js";
import { stderrProgress } from "../progress.js";

/** `gapkit load`: a paired set into a ClickHouse table (RowBinary, chunked), optionally creating it. */
export function registerLoad(program: Command): void {
  pairOptions(
    program
      .command("load")
      .description(
        "load paired embeddings into ClickHouse: a table of (id, a, b), or a Distributed one over a cluster",
      ),
  )
    .requiredOption("--clickhouse <url>", "HTTP URL of a ClickHouse node, e.g. http://127.0.0.1:8123")
    .requiredOption("--table <name>", "the table to insert into (letters, digits and _)")
    .option(
      "--create",
      "create the table first (with --cluster: <table>_local on every shard and <table> over them)",
    )
    .option("--cluster <name>", "the cluster of the server's remote_servers to spread the rows over")
    .option("--chunk-rows <n>", "rows per INSERT (in [1, 4194304])", "16384")
    .option(...TIMEOUT_OPTION)
    .option("--json", "print the result as JSON")
    .action(
      async (
        file: string | undefined,
        flags: PairFlags & {
          clickhouse: string;
          table: string;
          create?: boolean;
          cluster?: string;
          chunkRows: string;
          timeout: string;
          json?: boolean;
        },
      ) => {
        if (flags.cluster && !flags.create)
          throw new InputError(
            "--cluster",
            "--create with it (an existing table is loaded as it is)",
            "no --create",
          );
        if (flags.rows) throw new InputError("load", "the whole file (no --rows)", flags.rows);
        const wait = clickhouseWait(flags.timeout);
        const chunkRows = parseInteger(flags.chunkRows, "--chunk-rows", 1, 2 ** 22);
        const reader = await openPairTable(file, flags, "load");
        const progress = stderrProgress("load");
        const start = performance.now();
        const rows = await clickhouseLoad(flags.clickhouse, reader, {
          table: flags.table,
          create: flags.create,
          cluster: flags.cluster,
          chunkRows,
          ...wait,
          onProgress: (done, total) => progress(done, total ?? done, `${done} rows`),
        });
        const seconds = (performance.now() - start) / 1000;
        printResult(
          { table: flags.table, rows, dim: reader.spec.dim, seconds },
          flags.json,
          (r) => `loaded ${r.rows} pairs × ${r.dim} into ${r.table} in ${r.seconds.toFixed(1)} s`,
        );
      },
    );
}
