#!/usr/bin/env node
import { removeTempFiles } from "../io/files.js";
import { main } from "./program.js";

// a stopped run leaves no half-written temporary files (128 + the signal's number, as a shell reports it)
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const)
  process.on(signal, () => {
    removeTempFiles();
    process.exit(code);
  });

process.exitCode = await main(process.argv);
