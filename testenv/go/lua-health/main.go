// Command lua-health runs an Argo CD health.lua the way Argo CD does: gopher-lua (Lua 5.1) with the base, table,
// string and math libraries, the object as the global `obj`, the script's returned table as the health.
// Input on stdin: {"script": "...", "objects": [{...}, ...]}; output on stdout: [{"status": "...", "message": "..."}, ...].
package main

import (
	"encoding/json"
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"
)

type input struct {
	Script  string           `json:"script"`
	Objects []map[string]any `json:"objects"`
}

type health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// toLua converts decoded JSON to Lua values: objects and arrays become tables (arrays 1-based), null becomes nil.
func toLua(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := l.NewTable()
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.NewTable()
		for k, item := range x {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	}
	panic(fmt.Sprintf("unexpected JSON value %T", v))
}

func run(script string, obj map[string]any) (health, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return health{}, err
		}
	}
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return health{}, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return health{}, fmt.Errorf("health.lua returned %s, not a table", l.Get(-1).Type())
	}
	return health{Status: lua.LVAsString(ret.RawGetString("status")), Message: lua.LVAsString(ret.RawGetString("message"))}, nil
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "lua-health: reading input:", err)
		os.Exit(2)
	}
	out := make([]health, 0, len(in.Objects))
	for i, obj := range in.Objects {
		h, err := run(in.Script, obj)
		if err != nil {
			fmt.Fprintf(os.Stderr, "lua-health: object %d: %v\n", i, err)
			os.Exit(1)
		}
		out = append(out, h)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "lua-health:", err)
		os.Exit(1)
	}
}
