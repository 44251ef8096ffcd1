// Runs Argo CD health.lua scripts in tests with the Lua interpreter Argo CD embeds (gopher-lua, Lua 5.1).
module binlog-archiver.dev/testenv/lua-health

go 1.24.0

require github.com/yuin/gopher-lua v1.1.2
