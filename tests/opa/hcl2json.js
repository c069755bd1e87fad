#!/usr/bin/env node
// Prints one JSON object mapping each .tf path given on the command line to the input conftest
// gives its policies for that file. conftest converts HCL2 with tmccombs/hcl2json's
// convert.Bytes (Simplify off) and hands the result to OPA unchanged; @cdktf/hcl2json is that
// converter built to WebAssembly, called the same way. A file that does not parse fails the run.
"use strict";
const fs = require("fs");
const { parse } = require("@cdktf/hcl2json");

async function main(paths) {
  const out = {};
  for (const path of paths) {
    out[path] = await parse(path, fs.readFileSync(path, "utf8"));
  }
  process.stdout.write(JSON.stringify(out));
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`hcl2json: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
