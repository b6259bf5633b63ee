"""The sxs service, one folder per role: `api` (HTTP), `jobs` (the durable job engine), `matrix`
(the IF-matrix client), `reports` (figures, ratings, rendering), `cli` (the `sxs` commands);
`app`, `wiring` and `settings` put the service together."""
