#!/usr/bin/env bash
# Type-checks src/template/ the way an integrator lifts it: the folder alone, copied into an empty
# directory with TypeScript strict and only the adapters' packages (express, fastify, pg and their
# types). An import that leaves the folder, or a package beyond those, fails here. Then web.ts and the
# core it imports are checked again with the DOM's types and none of Node's, as on a Worker, and the
# whole folder once more as CommonJS with target and lib ES2020 (an older app's settings: no
# Object.hasOwn, no ES2022 library call).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/talki-template-XXXXXX")"
trap 'rm -rf "$work"' EXIT

cp "$root"/src/template/*.ts "$work/"
if grep -nE "(from|import\() *'\.\./" "$work"/*.ts; then
  echo "check-template: src/template/ must not import from outside the folder (lines above)" >&2
  exit 1
fi

# Only these packages resolve from the copy (their own dependencies resolve beside the real ones).
mkdir -p "$work/node_modules/@types"
for pkg in express fastify pg @types/node @types/express @types/pg; do
  if [ -e "$root/node_modules/$pkg" ]; then ln -s "$root/node_modules/$pkg" "$work/node_modules/$pkg"; fi
done

cat >"$work/package.json" <<'JSON'
{ "name": "lifted-template", "private": true, "type": "module" }
JSON
cat >"$work/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2022"],
    "types": ["node"],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "noImplicitOverride": true,
    "noImplicitReturns": true,
    "noFallthroughCasesInSwitch": true,
    "verbatimModuleSyntax": true,
    "isolatedModules": true,
    "skipLibCheck": true,
    "noEmit": true
  },
  "include": ["*.ts"]
}
JSON
cat >"$work/tsconfig.web.json" <<'JSON'
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "lib": ["ES2022", "DOM"], "types": [] },
  "include": [],
  "files": ["web.ts"]
}
JSON

cat >"$work/tsconfig.cjs.json" <<'JSON'
{
  "extends": "./tsconfig.json",
  "compilerOptions": {
    "target": "ES2020",
    "lib": ["ES2020"],
    "module": "CommonJS",
    "moduleResolution": "Node10",
    "esModuleInterop": true,
    "verbatimModuleSyntax": false
  }
}
JSON

tsc="$root/node_modules/.bin/tsc"
"$tsc" -p "$work/tsconfig.json"
"$tsc" -p "$work/tsconfig.web.json"
"$tsc" -p "$work/tsconfig.cjs.json"
echo "check-template: src/template/ type-checks alone ($(ls "$work"/*.ts | wc -l) files), web.ts without Node's types, and all as CommonJS ES2020"
