#!/usr/bin/env node
// Reads a JQL corpus (one query per line; lines starting with '#' and blank lines are skipped;
// a query may use the escapes \n, \r, \t and \\ written as the two characters "\\n" etc. only
// when the line starts with "@"), parses each query with Atlassian's own grammar
// (@atlassianlabs/jql-parser) and writes [{query, valid, error?}] as JSON.
//
// A query is valid when neither the lexer nor the parser reports a syntax error to an
// ANTLR error listener (the grammar's catch-all tokens ERRORCHAR, ERROR_RESERVED,
// UNCLOSED_*/INVALID_* never fit a parser rule, so bad characters surface as parser errors).
"use strict";
const fs = require("fs");
const { CharStreams, CommonTokenStream } = require("antlr4ts");
const { JQLLexer, JQLParser } = require("@atlassianlabs/jql-parser");

function check(query) {
  const errors = [];
  const listener = {
    syntaxError(_recognizer, _symbol, line, column, msg) {
      errors.push(`line ${line}:${column} ${msg}`);
    },
  };
  const lexer = new JQLLexer(CharStreams.fromString(query));
  lexer.removeErrorListeners();
  lexer.addErrorListener(listener);
  const parser = new JQLParser(new CommonTokenStream(lexer));
  parser.removeErrorListeners();
  parser.addErrorListener(listener);
  parser.jqlQuery();
  return errors.length === 0 ? { query, valid: true } : { query, valid: false, error: errors[0] };
}

function decode(line) {
  // "@" lines carry characters a text line cannot: \n \r \t \\ and \uXXXX.
  return line.slice(1).replace(/\\(n|r|t|\\|u[0-9a-fA-F]{4})/g, (_, e) =>
    e === "n" ? "\n" : e === "r" ? "\r" : e === "t" ? "\t" : e === "\\" ? "\\"
      : String.fromCharCode(parseInt(e.slice(1), 16)));
}

function main() {
  const [corpusPath, outPath] = process.argv.slice(2);
  if (!corpusPath || !outPath) {
    console.error("usage: node oracle.js CORPUS.txt OUT.json");
    process.exit(2);
  }
  const seen = new Set();
  const out = [];
  for (const raw of fs.readFileSync(corpusPath, "utf8").split("\n")) {
    if (raw.trim() === "" || raw.startsWith("#")) continue;
    const query = raw.startsWith("@") ? decode(raw) : raw;
    if (seen.has(query)) continue;
    seen.add(query);
    out.push(check(query));
  }
  fs.writeFileSync(outPath, JSON.stringify(out, null, 1) + "\n");
  const valid = out.filter((e) => e.valid).length;
  console.log(`${out.length} queries: ${valid} valid, ${out.length - valid} invalid -> ${outPath}`);
}

main();
