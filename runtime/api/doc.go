// Package api is the agent's control API: JSON over HTTP on a root-only unix
// socket (/run/vmnode/agent.sock). types.go documents every request and
// response; server.go serves a Backend; client.go is what the CLI uses.
//
// Endpoints (all JSON; errors are {"error": "..."} with a 4xx/5xx status):
//
//	GET  /v1/status             -> Status
//	GET  /v1/members            -> []Member
//	POST /v1/join               JoinRequest -> JoinResponse
//	POST /v1/force-leave        ForceLeaveRequest -> {}
//	POST /v1/keys               KeyRequest -> KeyResponse
//	POST /v1/preflight/cluster  ClusterPreflightRequest -> cluster.Report
//	POST /v1/reload             -> {}
//
// It imports nothing from runtime but the report type of preflight/cluster.
package api
