package chstore

// RegranulateRollups is migration 0009's step, for the stack test that
// runs it on tables made with ClickHouse's default granularity.
var RegranulateRollups = regranulateRollups

// KeyedRollups are the tables that step gives smaller granules.
var KeyedRollups = keyedRollups
