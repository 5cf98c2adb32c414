package chstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ErrSchemaConflict matches the error of a migration that would meet a
// table or view of the same name but another shape, so that the database
// was left as it was.
var ErrSchemaConflict = errors.New("the database holds tables of another schema")

// createdObject is what one CREATE … IF NOT EXISTS statement makes: a table
// with its declared columns, or a materialized view.
type createdObject struct {
	name    string
	view    bool
	columns []column // tables only, in declaration order
}

type column struct{ name, typ string }

var (
	createTable = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+` + "`?" + `([A-Za-z_][A-Za-z0-9_]*)` + "`?" + `\s*\(`)
	createView  = regexp.MustCompile(`(?is)^\s*CREATE\s+MATERIALIZED\s+VIEW\s+IF\s+NOT\s+EXISTS\s+` + "`?" + `([A-Za-z_][A-Za-z0-9_]*)`)
)

// parseCreate reads the object a statement creates; ok is false for any
// other statement.
func parseCreate(stmt string) (obj createdObject, ok bool, err error) {
	if m := createView.FindStringSubmatch(stmt); m != nil {
		return createdObject{name: m[1], view: true}, true, nil
	}
	loc := createTable.FindStringSubmatchIndex(stmt)
	if loc == nil {
		return createdObject{}, false, nil
	}
	obj.name = stmt[loc[2]:loc[3]]
	body, found := enclosed(stmt[loc[1]:])
	if !found {
		return createdObject{}, false, fmt.Errorf("CREATE TABLE %s: unbalanced parentheses", obj.name)
	}
	for _, def := range splitTopLevel(body) {
		name, typ, _ := strings.Cut(strings.TrimSpace(def), " ")
		switch strings.ToUpper(name) {
		case "", "INDEX", "PROJECTION", "CONSTRAINT":
			continue
		}
		obj.columns = append(obj.columns, column{name: strings.Trim(name, "`"), typ: columnType(typ)})
	}
	return obj, true, nil
}

// columnModifier starts what may follow a column's type in its
// definition.
var columnModifier = regexp.MustCompile(`(?i)\s(DEFAULT|MATERIALIZED|ALIAS|EPHEMERAL|CODEC|COMMENT|TTL)\b`)

// columnType returns the type of a column definition's remainder, without
// its modifiers, in the form sameType compares.
func columnType(def string) string {
	if loc := columnModifier.FindStringIndex(" " + def); loc != nil {
		def = (" " + def)[:loc[0]]
	}
	return strings.Join(strings.Fields(def), " ")
}

// sameType compares two type names as ClickHouse may print them, with or
// without spaces after commas.
func sameType(a, b string) bool {
	return strings.Join(strings.Fields(a), "") == strings.Join(strings.Fields(b), "")
}

// enclosed returns s up to the parenthesis that closes one already open.
func enclosed(s string) (string, bool) {
	depth := 1
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return s[:i], true
			}
		}
	}
	return "", false
}

// splitTopLevel splits a column list at the commas outside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// checkExisting compares what stmts would create with what the database
// already holds under the same names, before anything is changed: a table
// must have every declared column with the declared type (more columns
// are allowed), and a view's name must belong to a materialized view. A
// conflict would otherwise surface half way through the migrations, as
// "Unknown identifier" from the first view over the foreign table, with
// the tables before it already made.
func checkExisting(ctx context.Context, conn driver.Conn, database string, stmts []string) error {
	engines, err := tableEngines(ctx, conn, database)
	if err != nil {
		return err
	}
	var problems []string
	for _, stmt := range stmts {
		obj, ok, err := parseCreate(stmt)
		if err != nil {
			return err
		}
		engine, exists := engines[obj.name]
		if !ok || !exists {
			continue // not a CREATE, or not there yet: the migration makes it
		}
		isView := engine == "MaterializedView"
		switch {
		case obj.view && !isView:
			problems = append(problems, fmt.Sprintf("%s is a %s, not a materialized view", obj.name, engine))
			continue
		case !obj.view && (isView || engine == "View"):
			problems = append(problems, fmt.Sprintf("%s is a %s, not a table", obj.name, engine))
			continue
		case obj.view:
			continue
		}
		have, err := columnTypes(ctx, conn, database, obj.name)
		if err != nil {
			return err
		}
		for _, c := range obj.columns {
			got, ok := have[c.name]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s has no column %s %s", obj.name, c.name, c.typ))
			case !sameType(got, c.typ):
				problems = append(problems, fmt.Sprintf("%s.%s is %s, want %s", obj.name, c.name, got, c.typ))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: in database %s, %s; nothing was changed: name another database in CLICKHOUSE_DSN, or drop or rename these tables",
			ErrSchemaConflict, database, strings.Join(problems, "; "))
	}
	return nil
}

// tableEngines returns the engine of every table and view of database.
func tableEngines(ctx context.Context, conn driver.Conn, database string) (map[string]string, error) {
	return readPairs(ctx, conn, "the tables of "+database, "SELECT name, engine FROM system.tables WHERE database = ?", database)
}

// columnTypes returns the type of every column of a table.
func columnTypes(ctx context.Context, conn driver.Conn, database, table string) (map[string]string, error) {
	return readPairs(ctx, conn, "the columns of "+database+"."+table, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", database, table)
}

// readPairs reads a query of two string columns into a map, spaces in the
// values normalised.
func readPairs(ctx context.Context, conn driver.Conn, what, query string, args ...any) (map[string]string, error) {
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("reading %s: %w", what, err)
		}
		out[k] = strings.Join(strings.Fields(v), " ")
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return out, nil
}
