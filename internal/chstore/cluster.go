package chstore

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chengine"
	"tagpulse/internal/rollup"
)

// The schema on a ClickHouse cluster (docs/scaling.md, "The schema on a
// cluster"). The single-server migrations stay the one definition of every
// table: MigrateCluster applies them to a scratch database on the server
// it reaches, then creates each table it finds there ON CLUSTER, with a
// replicated engine, in one of two places (tablePlacements):
//
//   - a sharded table lives in LocalDatabase(db) on every server, replicated
//     within its shard, with a Distributed table of the same name in db
//     over it: the aggregator writes and the readers read through db;
//   - a table of every server (the schema's own bookkeeping, the
//     operators' lists, topics) is one replicated table in db, the same on
//     every server of every shard, with a view of the same name in
//     LocalDatabase(db) for the shards' workers.
//
// Run again, it creates the tables and columns later migrations added, so a
// cluster is upgraded the way a single server is.

// LocalDatabase is the database that holds each server's own part of the
// sharded tables on a cluster.
func LocalDatabase(database string) string { return database + "_local" }

// placement is where a table of the schema lives on a cluster.
type placement int

const (
	// sharded: replicated within each shard, Distributed over the shards.
	sharded placement = iota + 1
	// everywhere: one replicated table with a replica on every server.
	everywhere
	// singleServer: bookkeeping of the upgrade from schema v1, which a
	// cluster never had; not created.
	singleServer
)

// tablePlacement is where a table lives on a cluster and, for a sharded
// table, the Distributed table's sharding key.
type tablePlacement struct {
	place placement
	key   string
}

// byPost keeps every row of a post on one shard: its mentions, its posts
// row and its tombstone. A post then counts on one shard only, so distinct
// posts add up across shards exactly; distinct accounts, kept as mergeable
// states, merge across shards when a read goes through the Distributed
// tables. The tables the rollup worker fills from a shard's own mentions
// are never written through Distributed, so their key only matters to a
// hand-written insert.
const byPost = "cityHash64(post_id)"

// tablePlacements says, for every table the migrations create, where it
// lives on a cluster. A migration that adds a table must add it here:
// MigrateCluster refuses a table it does not know.
var tablePlacements = map[string]tablePlacement{
	"mentions":          {sharded, byPost},
	"posts":             {sharded, "cityHash64(id)"},
	"deletions":         {sharded, byPost},
	"deletions_pending": {sharded, byPost},
	"tag_hour":          {sharded, "rand()"},
	"tag_day":           {sharded, "rand()"},
	"post_hour":         {sharded, "rand()"},
	"post_day":          {sharded, "rand()"},
	"tag_display_day":   {sharded, "rand()"},
	"rollup_dirty":      {sharded, "rand()"},
	"rollup_done":       {sharded, "rand()"},
	"topic_hour":        {sharded, "rand()"},
	"topic_day":         {sharded, "rand()"},
	"schema_migrations": {everywhere, ""},
	"alert_state":       {everywhere, ""},
	"hidden_tags":       {everywhere, ""},
	"topics":            {everywhere, ""},
	// An edit of a topic marks every hour here for the topic tiers of
	// every shard, so the marks are everyone's.
	"topic_dirty":      {everywhere, ""},
	"migrate_progress": {singleServer, ""},
}

// clusterViews mark, on each server, the hours of the rows its shard
// receives, so that shard's rollup worker recomputes them. The marks the
// aggregator inserts itself go through the Distributed rollup_dirty to one
// shard only; these reach the shard that holds the rows.
var clusterViews = []struct{ name, from string }{
	{"rollup_dirty_from_mentions", "mentions"},
	{"rollup_dirty_from_deletions", "deletions"},
}

// clusterSettings are the session settings of a connection to the
// Distributed tables of a cluster. An insert returns once the shard that
// takes its rows holds them (insert_distributed_sync: the name 18.16 knows;
// current releases call it distributed_foreground_insert and keep this
// one), not when they are queued on the server that received it, so an
// acknowledged batch is stored before its offsets are committed. A
// subquery on a Distributed table inside a read of another runs on each
// shard's own table (distributed_product_mode = 'local'): the rows it
// looks for, a post's tombstone, live on the post's shard.
var clusterSettings = clickhouse.Settings{
	"insert_distributed_sync": 1,
}

// Shard is a connection to one shard of a cluster, or to one of its
// replicas, on LocalDatabase: the shard's own tables, which its rollup
// worker and retention keep.
type Shard struct {
	Num  uint32
	Conn driver.Conn
}

// OpenShards connects to every shard of cfg.Cluster, each through its
// replicas (a connection fails over between them), on the shard's own
// tables. It reads the shards from the DSN's server, which must answer;
// the shards need not (connections dial when used). It returns nil on a
// single server. The caller closes the connections.
func OpenShards(ctx context.Context, cfg Config) ([]Shard, error) {
	return openCluster(ctx, cfg, false)
}

// OpenReplicas is OpenShards with a connection to each replica of each
// shard: what a reader checks the rollup's state on (rollup.Replicas).
func OpenReplicas(ctx context.Context, cfg Config) ([]Shard, error) {
	return openCluster(ctx, cfg, true)
}

func openCluster(ctx context.Context, cfg Config, eachReplica bool) ([]Shard, error) {
	if cfg.Cluster == "" {
		return nil, nil
	}
	opts, members, err := clusterMembers(ctx, cfg)
	if err != nil {
		return nil, err
	}
	type group struct {
		num   uint32
		addrs []string
	}
	var groups []group
	for _, m := range members {
		if n := len(groups); !eachReplica && n > 0 && groups[n-1].num == m.shard {
			groups[n-1].addrs = append(groups[n-1].addrs, m.addr)
			continue
		}
		groups = append(groups, group{m.shard, []string{m.addr}})
	}
	var shards []Shard
	for _, g := range groups {
		// Not pinged: a shard that is down now gets its connection all
		// the same, and its work waits for it.
		c, err := clickhouse.Open(memberOptions(opts, g.addrs, LocalDatabase(opts.Auth.Database)))
		if err != nil {
			for _, s := range shards {
				s.Conn.Close()
			}
			return nil, fmt.Errorf("shard %d of cluster %s (%v): %w", g.num, cfg.Cluster, g.addrs, err)
		}
		shards = append(shards, Shard{Num: g.num, Conn: c})
	}
	return shards, nil
}

// memberOptions are opts for a connection to the servers at addrs (one
// shard's replicas, or one server) on database: a server's own tables,
// which take no setting of the Distributed ones.
func memberOptions(opts *clickhouse.Options, addrs []string, database string) *clickhouse.Options {
	o := *opts
	o.Addr = addrs
	o.Auth.Database = database
	o.Settings = nil
	return &o
}

// member is a replica of a cluster: its shard and native address.
type member struct {
	shard uint32
	addr  string
}

// clusterMembers reads the replicas of cfg.Cluster from the DSN's server,
// shard by shard, with the DSN's options.
func clusterMembers(ctx context.Context, cfg Config) (*clickhouse.Options, []member, error) {
	opts, err := cfg.Options()
	if err != nil {
		return nil, nil, err
	}
	// The database may not exist yet (migrate creates it).
	server := *opts
	server.Auth.Database = "default"
	conn, err := openOptions(ctx, &server)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	var rows []struct {
		Shard uint32 `ch:"shard_num"`
		Host  string `ch:"host_address"`
		Port  uint16 `ch:"port"`
	}
	if err := conn.Select(ctx, &rows, "SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cfg.Cluster); err != nil {
		return nil, nil, fmt.Errorf("reading the shards of cluster %s: %w", cfg.Cluster, err)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("cluster %s is not in the <remote_servers> of the server at %v (see system.clusters)", cfg.Cluster, opts.Addr)
	}
	members := make([]member, len(rows))
	for i, r := range rows {
		members[i] = member{r.Shard, fmt.Sprintf("%s:%d", r.Host, r.Port)}
	}
	return opts, members, nil
}

// SharedDatabase is where a cluster of plain shards keeps the tables of
// every server (schema_migrations, topics, ...): they cannot replicate
// there, so their rows live on the first shard only, in this database of
// each server, and the Distributed tables of the same name in the DSN's
// database reach them.
func SharedDatabase(database string) string { return database + "_shared" }

// ClusterSchema describes the schema on a cluster: the cluster's name (in
// the servers' <remote_servers>), the database of the DSN, and whether the
// servers replicate (they have {shard} and {replica} macros and a
// coordinator) or are plain shards of one server each.
type ClusterSchema struct {
	Cluster    string
	Database   string
	Replicated bool

	// regranulated is set when a run replaced rollup tables to give them
	// their granularity (ClusterSchema.regranulate).
	regranulated bool
}

// onCluster is the ON CLUSTER clause of the schema's DDL: on a replicated
// cluster one server runs each statement everywhere through the
// coordinator; plain shards have none, and MigrateCluster runs every
// statement on each server itself.
func (s *ClusterSchema) onCluster() string {
	if !s.Replicated {
		return ""
	}
	return " ON CLUSTER `" + s.Cluster + "`"
}

// MigrateCluster creates or upgrades the schema on cluster, from the
// server the DSN names. Every server of the cluster must be up: ON CLUSTER
// DDL waits for each of them, and plain shards are migrated one by one.
func MigrateCluster(ctx context.Context, cfg Config, cluster string, progress io.Writer) ([]int, error) {
	if !identifier.MatchString(cluster) {
		return nil, fmt.Errorf("cluster name %q: want letters, digits and _", cluster)
	}
	cfg.Cluster = cluster
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	bootstrap := *opts
	bootstrap.Auth.Database = "default"
	admin, err := openOptions(ctx, &bootstrap)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	_, members, err := clusterMembers(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &ClusterSchema{Cluster: cluster, Database: opts.Auth.Database}
	if s.Replicated, err = replicates(ctx, admin, members); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	if s.Replicated {
		fmt.Fprintf(progress, "migrate: cluster %s, %d shards: database %s (Distributed and shared tables), %s (each server's replicated parts)\n", cluster, members[len(members)-1].shard, s.Database, LocalDatabase(s.Database))
	} else {
		fmt.Fprintf(progress, "migrate: cluster %s, %d plain shards (no {replica} macro: no replication), server by server: database %s (Distributed tables), %s (each server's part), %s (the shared tables, on shard 1)\n",
			cluster, len(members), s.Database, LocalDatabase(s.Database), SharedDatabase(s.Database))
	}

	template, err := s.buildTemplate(ctx, admin, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS `"+template+"`"); err != nil {
			fmt.Fprintf(progress, "migrate: dropping the scratch database %s: %v\n", template, err)
		}
	}()
	tables, err := templateTables(ctx, admin, template)
	if err != nil {
		return nil, err
	}
	if s.Replicated {
		if err := s.apply(ctx, admin, tables, progress); err != nil {
			return nil, err
		}
	} else {
		for _, m := range members {
			fmt.Fprintf(progress, "migrate: shard %d, %s\n", m.shard, m.addr)
			server := bootstrap
			server.Addr = []string{m.addr}
			conn, err := openOptions(ctx, &server)
			if err != nil {
				return nil, fmt.Errorf("shard %d of cluster %s: %w", m.shard, cluster, err)
			}
			err = s.apply(ctx, conn, tables, progress)
			conn.Close()
			if err != nil {
				return nil, fmt.Errorf("shard %d of cluster %s (%s): %w", m.shard, cluster, m.addr, err)
			}
		}
	}
	conn, err := openOptions(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if s.regranulated {
		if err := markAllOnCluster(ctx, cfg, conn); err != nil {
			return nil, err
		}
	}
	applied, err := appliedVersions(ctx, conn, s.Database)
	if err != nil {
		return nil, err
	}
	migrations, err := Migrations()
	if err != nil {
		return nil, err
	}
	var done []int
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		if err := recordMigration(ctx, conn, m); err != nil {
			return done, fmt.Errorf("recording migration %s: %w", m.Name, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// replicates reports whether the servers of a cluster replicate: the
// server admin reaches has the {shard} and {replica} macros that the
// replicated tables' paths name. Without them each shard must be one
// server: there is nothing to copy its rows to another.
func replicates(ctx context.Context, admin driver.Conn, members []member) (bool, error) {
	var macros uint64
	if err := admin.QueryRow(ctx, "SELECT count() FROM system.macros WHERE macro IN ('shard', 'replica')").Scan(&macros); err != nil {
		return false, fmt.Errorf("reading the server's macros: %w", err)
	}
	if macros == 2 {
		return true, nil
	}
	for i := 1; i < len(members); i++ {
		if members[i].shard == members[i-1].shard {
			return false, fmt.Errorf("shard %d has several replicas (%s, %s), but the server has no {shard} and {replica} macros to replicate with (docs/scaling.md)", members[i].shard, members[i-1].addr, members[i].addr)
		}
	}
	return false, nil
}

// apply creates or upgrades the schema's databases, tables and views
// through conn: on the whole cluster (ON CLUSTER) or, for plain shards, on
// conn's server alone.
func (s *ClusterSchema) apply(ctx context.Context, conn driver.Conn, tables []templateTable, progress io.Writer) error {
	databases := []string{s.Database, LocalDatabase(s.Database)}
	if !s.Replicated {
		databases = append(databases, SharedDatabase(s.Database))
	}
	for _, db := range databases {
		if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+db+"`"+s.onCluster()); err != nil {
			return fmt.Errorf("creating database %s on cluster %s: %w", db, s.Cluster, err)
		}
	}
	for _, t := range tables {
		if err := s.ensure(ctx, conn, t, progress); err != nil {
			return err
		}
	}
	// The shards' workers and readers use their own database: the tables
	// of every server are seen there too, through views (a topic's
	// definition and its edits' marks).
	for _, t := range tables {
		if tablePlacements[t.name].place != everywhere {
			continue
		}
		q := fmt.Sprintf("CREATE VIEW IF NOT EXISTS `%s`.`%s`%s AS SELECT * FROM `%s`.`%s`", LocalDatabase(s.Database), t.name, s.onCluster(), s.Database, t.name)
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("creating the view of %s in %s on cluster %s: %w", t.name, LocalDatabase(s.Database), s.Cluster, err)
		}
	}
	for _, v := range clusterViews {
		local := LocalDatabase(s.Database)
		q := fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS `%s`.`%s`%s TO `%s`.rollup_dirty AS SELECT DISTINCT toStartOfHour(created_at) AS hour, now() AS marked_at FROM `%s`.`%s`",
			local, v.name, s.onCluster(), local, local, v.from)
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("creating view %s on cluster %s: %w", v.name, s.Cluster, err)
		}
	}
	return nil
}

// buildTemplate applies every migration to a new scratch database on the
// server opts reaches, made through admin, and returns its name.
func (s *ClusterSchema) buildTemplate(ctx context.Context, admin driver.Conn, opts *clickhouse.Options) (string, error) {
	template := s.Database + "_template"
	for _, q := range []string{"DROP DATABASE IF EXISTS `" + template + "`", "CREATE DATABASE `" + template + "`"} {
		if err := admin.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("making the scratch database %s: %w", template, err)
		}
	}
	scratch := *opts
	scratch.Auth.Database = template
	conn, err := openOptions(ctx, &scratch)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := migrateConn(ctx, conn, template, io.Discard, 0); err != nil {
		return "", fmt.Errorf("building the schema in the scratch database %s: %w", template, err)
	}
	return template, nil
}

// templateTable is a table of the scratch database: its name, its CREATE
// statement and its engine as system.tables gives them, and its columns.
type templateTable struct {
	name, create, engine string
	columns              []serverColumn
}

// serverColumn is a column as system.columns gives it.
type serverColumn struct{ name, typ, defaultKind, defaultExpr string }

// definition is the column as ADD COLUMN takes it.
func (c serverColumn) definition() string {
	d := "`" + c.name + "` " + c.typ
	if c.defaultKind != "" {
		d += " " + c.defaultKind + " " + c.defaultExpr
	}
	return d
}

// templateTables reads the tables of database (views aside).
func templateTables(ctx context.Context, conn driver.Conn, database string) ([]templateTable, error) {
	rows, err := conn.Query(ctx, "SELECT name, create_table_query, engine_full FROM system.tables WHERE database = ? AND engine NOT LIKE '%View' ORDER BY name", database)
	if err != nil {
		return nil, fmt.Errorf("reading the tables of %s: %w", database, err)
	}
	var out []templateTable
	for rows.Next() {
		var t templateTable
		if err := rows.Scan(&t.name, &t.create, &t.engine); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the tables of %s: %w", database, err)
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the tables of %s: %w", database, err)
	}
	for i := range out {
		if out[i].columns, err = tableColumns(ctx, conn, database, out[i].name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tableColumns reads a table's columns in order; none when it is missing.
func tableColumns(ctx context.Context, conn driver.Conn, database, table string) ([]serverColumn, error) {
	rows, err := conn.Query(ctx, "SELECT name, type, default_kind, default_expression FROM system.columns WHERE database = ? AND table = ?", database, table)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s.%s: %w", database, table, err)
	}
	defer rows.Close()
	var out []serverColumn
	for rows.Next() {
		var c serverColumn
		if err := rows.Scan(&c.name, &c.typ, &c.defaultKind, &c.defaultExpr); err != nil {
			return nil, fmt.Errorf("reading the columns of %s.%s: %w", database, table, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ensure creates t on the cluster where its placement says, or adds the
// columns it lacks there.
func (s *ClusterSchema) ensure(ctx context.Context, conn driver.Conn, t templateTable, progress io.Writer) error {
	p, ok := tablePlacements[t.name]
	if !ok {
		return fmt.Errorf("table %s of the migrations has no place on a cluster: add it to chstore.tablePlacements", t.name)
	}
	switch {
	case p.place == singleServer:
		return nil
	case p.place == everywhere && s.Replicated:
		return s.ensureStored(ctx, conn, t, s.Database, "all", progress)
	case p.place == everywhere:
		// Every row on the first shard: the sharding key is a constant.
		if err := s.ensureStored(ctx, conn, t, SharedDatabase(s.Database), "", progress); err != nil {
			return err
		}
		return s.ensureDistributed(ctx, conn, t, SharedDatabase(s.Database), "0", progress)
	}
	if err := s.ensureStored(ctx, conn, t, LocalDatabase(s.Database), "{shard}", progress); err != nil {
		return err
	}
	return s.ensureDistributed(ctx, conn, t, LocalDatabase(s.Database), p.key, progress)
}

// ensureDistributed creates t in the DSN's database as a Distributed table
// over the tables of that name in database on every shard, with key.
func (s *ClusterSchema) ensureDistributed(ctx context.Context, conn driver.Conn, t templateTable, database, key string, progress io.Writer) error {
	create := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.`%s`%s AS `%s`.`%s` ENGINE = Distributed('%s', '%s', '%s', %s)",
		s.Database, t.name, s.onCluster(), database, t.name, s.Cluster, database, t.name, key)
	return s.ensureTable(ctx, conn, t, s.Database, create, true, progress)
}

// ensureStored creates t in database with the rows of its own: on a
// replicated cluster with its engine made replicated, its replicas
// coordinated under a path per shard (shard "{shard}") or one for the whole
// cluster (shard "all"); on plain shards with its engine as it is.
func (s *ClusterSchema) ensureStored(ctx context.Context, conn driver.Conn, t templateTable, database, shard string, progress io.Writer) error {
	engine := t.engine
	if s.Replicated {
		var err error
		if engine, err = chengine.Replicated(t.engine, "/clickhouse/tables/"+shard+"/"+database+"/"+t.name); err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	columns, _, ok := chengine.Split(t.create)
	if !ok {
		return fmt.Errorf("table %s: cannot read its CREATE statement %q", t.name, t.create)
	}
	if err := s.regranulate(ctx, conn, t, database, progress); err != nil {
		return err
	}
	create := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.`%s`%s %s ENGINE = %s", database, t.name, s.onCluster(), columns, engine)
	return s.ensureTable(ctx, conn, t, database, create, false, progress)
}

// regranulate drops a keyed rollup table of database made with another
// index granularity than the migrations give it now (migration 0009 on
// one server), so that ensureStored creates it again with theirs, and
// notes it for markAllOnCluster. The rollups are derived: nothing is
// lost, and until the workers have recomputed them reads take their
// buckets from mentions (the partitions no longer match rollup_done).
func (s *ClusterSchema) regranulate(ctx context.Context, conn driver.Conn, t templateTable, database string, progress io.Writer) error {
	if !slices.Contains(keyedRollups, t.name) {
		return nil
	}
	qualified := "`" + database + "`.`" + t.name + "`"
	_, engine, err := chengine.Definition(ctx, conn, qualified)
	if tableMissing(err) {
		return nil
	}
	if err != nil {
		return err
	}
	want := chengine.Granularity(t.engine)
	if chengine.Granularity(engine) == want {
		return nil
	}
	if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+qualified+s.onCluster()); err != nil {
		return fmt.Errorf("dropping %s on cluster %s to give it granules of %d rows: %w", qualified, s.Cluster, want, err)
	}
	fmt.Fprintf(progress, "migrate: %s.%s gets granules of %d rows on cluster %s; its rows will be recomputed from mentions\n", database, t.name, want, s.Cluster)
	s.regranulated = true
	return nil
}

// markAllOnCluster marks, on every shard, every hour its mentions hold,
// for every tier (rollup.MarkAll on the shard's own tables), and every
// hour for the topic tiers (rollup.MarkTopics, through conn on the
// Distributed tables): the workers then recompute the rollups
// regranulate emptied.
func markAllOnCluster(ctx context.Context, cfg Config, conn driver.Conn) error {
	shards, err := OpenShards(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		for _, sh := range shards {
			sh.Conn.Close()
		}
	}()
	for _, sh := range shards {
		if err := rollup.MarkAll(ctx, sh.Conn); err != nil {
			return fmt.Errorf("shard %d of cluster %s: %w", sh.Num, cfg.Cluster, err)
		}
	}
	return rollup.MarkTopics(ctx, conn)
}

// ensureTable runs create (CREATE … IF NOT EXISTS, ON CLUSTER where the
// servers replicate), then adds to the table, on the whole cluster, the
// columns of t it lacks. Adding servers and a migration that adds columns
// must be two runs: a new server's table is made with every column, and
// 18.16 has no ADD COLUMN IF NOT EXISTS. A Distributed
// table (distributed) holds no rows of its own and cannot be altered ON
// CLUSTER on 18.16 ("isn't replicated, but shard is replicated"): it is
// dropped and created again instead.
func (s *ClusterSchema) ensureTable(ctx context.Context, conn driver.Conn, t templateTable, database, create string, distributed bool, progress io.Writer) error {
	have, err := tableColumns(ctx, conn, database, t.name)
	if err != nil {
		return err
	}
	if distributed && len(have) > 0 && len(missingColumns(have, t.columns)) > 0 {
		if err := conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS `%s`.`%s`%s", database, t.name, s.onCluster())); err != nil {
			return fmt.Errorf("dropping %s.%s on cluster %s to create it with new columns: %w", database, t.name, s.Cluster, err)
		}
		have = nil
	}
	// Run even where the DSN's server has the table: a server added to
	// the cluster since gets it (IF NOT EXISTS leaves the others alone).
	if err := conn.Exec(ctx, create); err != nil {
		return fmt.Errorf("creating %s.%s on cluster %s: %w", database, t.name, s.Cluster, err)
	}
	if len(have) == 0 {
		fmt.Fprintf(progress, "migrate: created %s.%s on cluster %s\n", database, t.name, s.Cluster)
		return nil
	}
	for _, c := range missingColumns(have, t.columns) {
		q := fmt.Sprintf("ALTER TABLE `%s`.`%s`%s ADD COLUMN %s", database, t.name, s.onCluster(), c.definition())
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("adding column %s to %s.%s on cluster %s: %w", c.name, database, t.name, s.Cluster, err)
		}
		fmt.Fprintf(progress, "migrate: added %s.%s.%s on cluster %s\n", database, t.name, c.name, s.Cluster)
	}
	return nil
}

// missingColumns are the columns of want that have lacks, in want's order.
func missingColumns(have, want []serverColumn) []serverColumn {
	names := map[string]bool{}
	for _, c := range have {
		names[c.name] = true
	}
	var out []serverColumn
	for _, c := range want {
		if !names[c.name] {
			out = append(out, c)
		}
	}
	return out
}

// PartsOf returns the source and condition of the rows of system.parts
// that hold table, a table of cfg's database ("FROM " goes before it): its
// own parts on one server or, on a cluster (cfg.Cluster), the parts of the
// shards' tables in LocalDatabase, one replica of each shard. It asks
// nothing of the server: the names come from cfg.
func PartsOf(cfg Config, table string) (string, error) {
	if !identifier.MatchString(table) {
		return "", fmt.Errorf("table name %q: want letters, digits and _", table)
	}
	if cfg.Cluster == "" {
		return "system.parts WHERE database = currentDatabase() AND table = '" + table + "'", nil
	}
	opts, err := cfg.Options()
	if err != nil {
		return "", err
	}
	// Options checked the cluster's and the database's names against
	// identifier, so they can be written in the SQL.
	return fmt.Sprintf("cluster('%s', system.parts) WHERE database = '%s' AND table = '%s'", cfg.Cluster, LocalDatabase(opts.Auth.Database), table), nil
}

// SharedTables returns a connection to the database that holds the rows
// of the tables every server shares (alert claims, topic edit marks: what
// retention drops on a cluster), and a function that closes what it
// opened. On a replicated cluster that is conn's database, the DSN's, where
// a drop reaches every replica. On plain shards the DSN's tables are
// Distributed, and their rows live in SharedDatabase on the first shard.
func SharedTables(ctx context.Context, cfg Config, conn driver.Conn) (driver.Conn, func(), error) {
	engine, err := chengine.Of(ctx, conn, "alert_state")
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(engine, "Distributed") {
		return conn, func() {}, nil
	}
	opts, members, err := clusterMembers(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := clickhouse.Open(memberOptions(opts, []string{members[0].addr}, SharedDatabase(opts.Auth.Database)))
	if err != nil {
		return nil, nil, fmt.Errorf("the shared tables of cluster %s on shard 1 (%s): %w", cfg.Cluster, members[0].addr, err)
	}
	return c, func() { c.Close() }, nil
}
