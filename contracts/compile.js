#!/usr/bin/env node
// Compiles contracts/*.sol with solc-js (standard JSON) and writes one artifact per contract:
// resources/contracts/<Name>.json = {contractName, sourceName, abi, bytecode, deployedBytecode,
// userdoc, devdoc, compiler: {version, settings}, sourcesSha256}.
// `node contracts/compile.js [--out DIR]` (default: resources/contracts). Deterministic: the same
// sources and packages give byte-identical files, which is how tests/chain/test_artifacts.py
// detects artifacts that no longer match their sources.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const ROOT = path.resolve(__dirname, "..");
const SOURCES_DIR = path.join(__dirname);
// OpenZeppelin 5.7 uses mcopy (Cancun); pin it rather than follow solc's newer default.
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  // no IPFS/Swarm hash in the bytecode, so a comment edit does not churn every artifact
  metadata: { bytecodeHash: "none" },
};
const OUTPUTS = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "userdoc", "devdoc", "metadata"];

function parseArgs(argv) {
  const outIndex = argv.indexOf("--out");
  if (outIndex !== -1 && !argv[outIndex + 1]) throw new Error("--out needs a folder");
  return { outDir: outIndex === -1 ? path.join(ROOT, "resources", "contracts") : path.resolve(argv[outIndex + 1]) };
}

function readSources() {
  const names = fs.readdirSync(SOURCES_DIR).filter((name) => name.endsWith(".sol")).sort();
  if (names.length === 0) throw new Error(`no .sol files in ${SOURCES_DIR}`);
  const sources = {};
  for (const name of names) {
    sources[`contracts/${name}`] = { content: fs.readFileSync(path.join(SOURCES_DIR, name), "utf8") };
  }
  return sources;
}

// Every file the compiler read, by source unit name, to hash what each contract was built from.
const loaded = {};

function findImports(importPath) {
  try {
    const resolved = require.resolve(importPath, { paths: [ROOT] });
    const content = fs.readFileSync(resolved, "utf8");
    loaded[importPath] = content;
    return { contents: content };
  } catch (err) {
    return { error: `cannot import ${importPath}: ${err.message} (run npm ci)` };
  }
}

function sourcesSha256(metadata, sources) {
  const hash = crypto.createHash("sha256");
  for (const unit of Object.keys(JSON.parse(metadata).sources).sort()) {
    const content = sources[unit] ? sources[unit].content : loaded[unit];
    if (content === undefined) throw new Error(`source ${unit} was not read`);
    hash.update(`${unit}\n${Buffer.byteLength(content)}\n`).update(content);
  }
  return hash.digest("hex");
}

function compile() {
  const sources = readSources();
  const input = { language: "Solidity", sources, settings: { ...SETTINGS, outputSelection: { "*": { "*": OUTPUTS } } } };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  for (const message of output.errors || []) process.stderr.write(message.formattedMessage + "\n");
  if (errors.length) throw new Error(`${errors.length} compile error(s)`);
  const artifacts = [];
  for (const sourceName of Object.keys(sources)) {
    for (const [contractName, built] of Object.entries(output.contracts[sourceName] || {})) {
      artifacts.push({
        contractName,
        sourceName,
        abi: built.abi,
        bytecode: "0x" + built.evm.bytecode.object,
        deployedBytecode: "0x" + built.evm.deployedBytecode.object,
        userdoc: built.userdoc,
        devdoc: built.devdoc,
        compiler: { version: solc.version(), settings: SETTINGS },
        sourcesSha256: sourcesSha256(built.metadata, sources),
      });
    }
  }
  return artifacts;
}

function main() {
  const { outDir } = parseArgs(process.argv.slice(2));
  fs.mkdirSync(outDir, { recursive: true });
  for (const artifact of compile()) {
    const file = path.join(outDir, `${artifact.contractName}.json`);
    fs.writeFileSync(file, JSON.stringify(artifact, null, 2) + "\n");
    const size = (artifact.deployedBytecode.length - 2) / 2;
    process.stdout.write(`${path.relative(ROOT, file)}  ${size} bytes deployed\n`);
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`compile failed: ${err.message}\n`);
  process.exit(1);
}
