-- Issue 25: the console's charts and the per-app rating gauges
-- (hub/state/stats.go). The gauges count every review by app, rating and
-- reply status: this index holds all four, so the count reads the index
-- alone (never the reviews' text). It does not begin with (integration_id,
-- app_id): on PostgreSQL such an index drew the planner away from the
-- primary key for the updates by review (see 0015). The charts read a
-- period of reviews by the date indexes of 0015.
CREATE INDEX reviews_ratings ON reviews (rating, reply_status, integration_id, app_id);
