// Package deploy holds the files that run termhost in production (SPEC §11):
// termhost.service (systemd), haproxy.cfg (a load balancer for a cluster,
// PROXY v2, health checks on /readyz) and Containerfile (a container image).
// It has no code; its tests check each file with the tool that reads it
// where that tool is installed, and statically otherwise.
package deploy
