package metrics

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"slices"
	"strconv"
	"testing"
)

// storeOps and the op labels the Store methods pass to done are one set: a
// method added without its label (or a label left after its method went,
// like take_session) fails here.
func TestStoreOpsInStep(t *testing.T) {
	f, err := parser.ParseFile(gotoken.NewFileSet(), "store.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var used []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "done" {
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == gotoken.STRING {
				op, _ := strconv.Unquote(lit.Value)
				used = append(used, op)
			}
		}
		return true
	})
	listed := slices.Clone(storeOps)
	slices.Sort(used)
	slices.Sort(listed)
	if !slices.Equal(slices.Compact(used), listed) {
		t.Errorf("ops passed to done = %v\nstoreOps = %v", used, listed)
	}
}
