"""Operating Diwan (issue 21): structured logs with a request id (`logs.py`), Prometheus metrics (`metrics.py`),
the production settings check (`check_config.py`, `diwan check-config`) and backups that restore (`backup.py`,
`diwan backup` / `diwan restore`). The deployment files themselves are in deploy/ at the top of the repository."""
