// Package alert is tagpulse's watchlists and notifications: a YAML file of
// rules (LoadRules) says which tags to watch, over which window, and what
// count or trending score is worth telling someone about; an Evaluator
// checks the rules against the trend queries of internal/trend every
// minute inside `aggregate run`, and POSTs each firing rule to its
// webhooks, in a Slack-compatible or a generic JSON body (Notifier).
//
// No alert is sent twice within its rule's cooldown, across restarts and
// across replicas: the decision to send is a claim row in the ClickHouse
// table alert_state (State), read back after a settle delay so that every
// replica agrees on one winner. docs/alerts.md gives the file format and
// walks through the claim protocol and its assumptions.
package alert
