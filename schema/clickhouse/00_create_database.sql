-- The running namespace's database (DESIGN.md §3); {db} is substituted by the applier
-- with that database and nothing else.
CREATE DATABASE IF NOT EXISTS {db};
