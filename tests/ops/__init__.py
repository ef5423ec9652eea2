"""The operations kit under deploy/: the systemd unit, the container, the Prometheus rules and
the Grafana dashboard (docs/operations.md)."""
