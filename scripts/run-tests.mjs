#!/usr/bin/env node
// Runs every *.test.ts under test/ with node's own test runner. On Node 20 the runner neither
// expands globs nor picks up .ts files in folders, so the file list is built here.
// Store legs: SQLite always; PostgreSQL when a server answers at VPCMIRROR_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/test). VPCMIRROR_TEST_STORES forces the list (e.g. "postgres").
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('-'));

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

let files = collect('test');
if (only.length > 0) files = files.filter((f) => only.some((o) => f.includes(o)));

const pgUrl = process.env.VPCMIRROR_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let stores = process.env.VPCMIRROR_TEST_STORES;
if (!stores) {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `const pg=require('pg');const c=new pg.Client({connectionString:process.argv[1],connectionTimeoutMillis:3000});c.connect().then(()=>c.end()).then(()=>process.exit(0),()=>process.exit(1))`,
      pgUrl,
    ],
    { stdio: 'ignore', timeout: 10000 },
  );
  if (probe.status === 0) {
    stores = 'sqlite,postgres';
    console.log(`test stores: SQLite and PostgreSQL (${pgUrl})`);
  } else {
    stores = 'sqlite';
    console.log(`test stores: SQLite only. The PostgreSQL leg was SKIPPED: no server answered at ${pgUrl}.`);
  }
} else {
  console.log(`test stores: ${stores}`);
}

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, VPCMIRROR_TEST_STORES: stores, VPCMIRROR_TEST_PG_URL: pgUrl },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
