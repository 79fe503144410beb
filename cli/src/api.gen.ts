// Generated from /openapi.json by `npm run docs:api` (test/src/openapi-types.ts): do not edit.
// cli/src/api.ts names the shapes the CLI reads.
export interface paths {
    "/version": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The version of the control plane (one for the whole project: agent, charts and CLI carry the same) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            version: string;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/clusters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List clusters, optionally filtered by a label selector (e.g. env=prod,region in (eu,us)) */
        get: {
            parameters: {
                query?: {
                    /** @description Requirements separated by commas: k=v, k==v, k!=v, k in (a,b), k notin (a), k, !k */
                    selector?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: components["schemas"]["Cluster"][];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidSelector, InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Register a cluster: returns a one-time bootstrap token and the helm command that installs its agent */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /** @description Kubernetes labels: keys name or prefix/name, values up to 63 characters */
                        labels?: {
                            [key: string]: string;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            cluster: components["schemas"]["Cluster"];
                            bootstrapToken: string;
                            expiresAt: string;
                            helmInstall: string;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code ClusterExists, Conflict) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/clusters/{name}/bootstrap-token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Issue a new bootstrap token for an existing cluster (reinstalling its agent); the previous one dies */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            cluster: components["schemas"]["Cluster"];
                            bootstrapToken: string;
                            expiresAt: string;
                            helmInstall: string;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code ClusterNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/clusters/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a cluster with its connection state and the status of each fleet on it */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            labels: {
                                [key: string]: string;
                            };
                            createdAt: string;
                            registered: boolean;
                            connected: boolean;
                            lastSeen: string | null;
                            agentVersion: string | null;
                            kubernetesVersion: string | null;
                            fleets: {
                                cluster?: string;
                                fleet: string;
                                /** @enum {string} */
                                phase: "Pending" | "Applying" | "Progressing" | "Ready" | "Failed" | "Drifted";
                                desiredRevision: string;
                                desiredDigest?: string;
                                appliedRevision: string;
                                attemptedRevision: string;
                                message: string;
                                objectCount: number;
                                observedAt?: string;
                                receivedAt?: string;
                                sequence?: number;
                                driftCorrections?: number;
                            }[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code ClusterNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete a cluster: revokes its credential and closes its agent stream */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code ClusterNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        /** Replace a cluster's labels (moves it between stages) */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Kubernetes labels: keys name or prefix/name, values up to 63 characters */
                        labels: {
                            [key: string]: string;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Cluster"];
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code ClusterNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/v1/fleets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List fleets */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: components["schemas"]["Fleet"][];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Create a fleet from a Git repository, branch and path; fetches and plans it at once */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description 1-63 lowercase letters, digits and '-' */
                        name: string;
                        /** @description An HTTP(S) Git URL without credentials in it (give them in `credentials`), e.g. https://git.example.com/org/fleet.git */
                        repo: string & (unknown & unknown);
                        /** @description A Git branch name: no spaces, '..', '~^:?*[\', control characters, leading '-' or '/', trailing '/', '.' or '.lock', not a commit id */
                        branch?: string;
                        /** @description Directory of fleet.yaml in the repository ('' or '.' = its root); never '..' */
                        path?: string;
                        /** @description Seconds between fetches when no webhook says so (default: the control plane's GITFLEET_POLL_INTERVAL_SECONDS) */
                        pollIntervalSeconds?: number;
                        /** @description The project to create it in: its name and repo must be the project's */
                        project?: string;
                        /** @description Basic-auth (username and password) or a token for the Git server; never returned */
                        credentials?: {
                            username?: string;
                            password?: string;
                            token?: string;
                        };
                        /** @description Basic-auth credentials of the Helm repository or OCI registry the fleet's chart comes from; never returned */
                        chartCredentials?: {
                            username?: string;
                            password?: string;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Fleet"];
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code NotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code FleetExists, Conflict, ProjectRefused) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/fleets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A fleet: policy, head revision, per-stage revision, rollout and cluster counts by phase, conditions, errors */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Fleet"];
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete a fleet: agents prune its objects (except those opted out) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        /** Change what a fleet follows or how it reaches it (branch, path, credentials, poll interval); a new branch, path or credentials fetch and re-plan at once, through the usual stages and gates */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description A Git branch name: no spaces, '..', '~^:?*[\', control characters, leading '-' or '/', trailing '/', '.' or '.lock', not a commit id */
                        branch?: string;
                        /** @description Directory of fleet.yaml in the repository ('' or '.' = its root); never '..' */
                        path?: string;
                        /** @description Seconds between fetches when no webhook says so (default: the control plane's GITFLEET_POLL_INTERVAL_SECONDS); null: back to the default */
                        pollIntervalSeconds?: number | null;
                        /** @description Basic-auth (username and password) or a token for the Git server; never returned */
                        credentials?: {
                            username?: string;
                            password?: string;
                            token?: string;
                        };
                        /** @description Basic-auth credentials of the Helm repository or OCI registry the fleet's chart comes from; never returned */
                        chartCredentials?: {
                            username?: string;
                            password?: string;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Fleet"];
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/v1/fleets/{name}/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Status of a fleet per cluster (desired, applied, attempted revision, phase) and per object */
        get: {
            parameters: {
                query?: {
                    /** @description The cluster name the page starts after (`next` of the page before) */
                    after?: string;
                    /** @description 1 to 10000 clusters (default: all) */
                    limit?: string;
                    /** @description Only the clusters of this stage */
                    stage?: string;
                    /** @description Only the clusters in this phase */
                    phase?: "Pending" | "Applying" | "Progressing" | "Ready" | "Failed" | "Drifted";
                };
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            fleet: string;
                            items: {
                                cluster: string;
                                stage: string | null;
                                connected: boolean;
                                /** @description A commit id */
                                desiredRevision: string | null;
                                desiredDigest: string | null;
                                /** @description A commit id */
                                appliedRevision: string | null;
                                /** @description A commit id */
                                attemptedRevision: string | null;
                                /** @enum {string} */
                                phase: "Pending" | "Applying" | "Progressing" | "Ready" | "Failed" | "Drifted";
                                message: string;
                                observedAt: string | null;
                                driftCorrections: number;
                                objects: {
                                    apiVersion: string;
                                    kind: string;
                                    namespace: string;
                                    name: string;
                                    /** @enum {string} */
                                    action: "created" | "configured" | "unchanged" | "deleted" | "failed" | "skipped" | "unknown";
                                    /** @enum {string} */
                                    health: "Current" | "InProgress" | "Failed" | "Terminating" | "NotFound" | "Unknown";
                                    reason: string;
                                    message: string;
                                    drifted: boolean;
                                    /** @description The last drift correction: the fields that had changed, who changed them, when */
                                    lastDrift?: {
                                        changes?: string[];
                                        managers?: string[];
                                        correctedAt?: string;
                                    };
                                }[];
                            }[];
                            /** @description Pass as `after` for the next page; null at the end */
                            next: string | null;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/fleets/{name}/clusters/{cluster}/reports": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A cluster's last reports for the fleet, newest first: phase, revisions, message, object counts */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    cluster: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            fleet: string;
                            cluster: string;
                            items: {
                                /** @description The agent's report sequence number */
                                sequence: number;
                                /** @enum {string} */
                                phase: "Pending" | "Applying" | "Progressing" | "Ready" | "Failed" | "Drifted";
                                /** @description A commit id */
                                desiredRevision: string | null;
                                /** @description A commit id */
                                appliedRevision: string | null;
                                /** @description A commit id */
                                attemptedRevision: string | null;
                                message: string;
                                /** @description When the agent observed it (the agent's clock) */
                                observedAt: string;
                                /** @description When the control plane received it */
                                receivedAt: string;
                                driftCorrections: number;
                                objects: number;
                                failedObjects: number;
                            }[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound, ClusterNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/fleets/{name}/sync": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Fetch the repository now and re-plan the fleet */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Fleet"];
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/fleets/{name}/diff": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Preview: what a commit or branch would change in each cluster (a server-side dry-run by each connected agent) */
        get: {
            parameters: {
                query?: {
                    /** @description A commit (full or abbreviated) or a branch; default: the fleet's branch */
                    revision?: string;
                    stage?: string;
                    cluster?: string;
                    /** @description How long agents have to answer: 1 to 120 (default 15) */
                    timeoutSeconds?: string;
                };
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            fleet: string;
                            revision: string;
                            /** @description Some cluster would change, or could not be compared */
                            changed: boolean;
                            clusters: {
                                cluster: string;
                                stage: string;
                                /** @enum {string} */
                                outcome: "compared" | "not-connected" | "timed-out" | "render-failed" | "failed";
                                message: string;
                                summary: {
                                    created: number;
                                    changed: number;
                                    deleted: number;
                                    unchanged: number;
                                    failed: number;
                                };
                                objects: {
                                    apiVersion: string;
                                    kind: string;
                                    namespace: string;
                                    name: string;
                                    /** @enum {string} */
                                    change: "created" | "changed" | "deleted" | "unchanged" | "failed";
                                    /** @description Unified diff of the live object against the dry-run result (YAML) */
                                    diff: string;
                                    message: string;
                                    /** @description A Secret's keys whose values would change; values are never shown */
                                    changedKeys: string[];
                                }[];
                            }[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound, RevisionNotFound, ClusterNotFound, StageNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code GitError) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Understood, but its content is not valid (code InvalidRevision) */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The Git server could not be reached (code GitUnavailable) */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Event history, oldest first, paged with `since` (an id or ISO time); with Accept: text/event-stream, server-sent events that resume after Last-Event-ID */
        get: {
            parameters: {
                query?: {
                    /** @description An event's id (the page starts after it) or an ISO time (at or after it) */
                    since?: string;
                    fleet?: string;
                    cluster?: string;
                    /** @description Comma-separated event types */
                    type?: string;
                    /** @description ApiAction events of this caller */
                    actor?: string;
                    /** @description 1 to 1000 (default 100) */
                    limit?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: ({
                                /** @description Stream id: orders events; pass it as `since` or Last-Event-ID */
                                id: string;
                                type: string;
                                time: string;
                                cluster?: string;
                                fleet?: string;
                                stage?: string;
                                revision?: string;
                                phase?: string;
                                reason?: string;
                                /** @description ApiAction: who called */
                                actor?: string;
                                /** @enum {string} */
                                via?: "installation-token" | "api-token" | "oidc" | "anonymous" | "webhook-signature";
                                /** @description ApiAction: method and route, e.g. PATCH /api/v1/fleets/{name} */
                                action?: string;
                                /** @description ApiAction: the answer's HTTP status */
                                status?: number;
                                /** @description ApiAction: the name in the path, when not a fleet or a cluster */
                                object?: string;
                            } & {
                                [key: string]: unknown;
                            })[];
                            /** @description Pass as `since` for the next page; null at the end */
                            next: string | null;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/fleets/{name}/promotions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Promotions and rollbacks of a fleet, newest first: the commits of fleet.yaml that made them */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                id?: string;
                                /** @enum {string} */
                                kind?: "promotion" | "rollback";
                                stage: string;
                                revision: string;
                                commit?: string;
                                author?: {
                                    name?: string;
                                    email?: string;
                                };
                                time?: string;
                                message?: string;
                                rollbackOf?: string | null;
                                from?: string | null;
                            }[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code GitError) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The Git server could not be reached (code GitUnavailable) */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Promote a revision into a stage: a commit rewriting the stage's revision in fleet.yaml, pushed to the branch. Without `revision`, the one the stage before runs; refused (409) unless every cluster of the required stage is Ready at it */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        stage: string;
                        /** @description A commit id, full or abbreviated to at least 7 hex digits */
                        revision?: string;
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id?: string;
                            /** @enum {string} */
                            kind?: "promotion" | "rollback";
                            stage: string;
                            revision: string;
                            commit?: string;
                            author?: {
                                name?: string;
                                email?: string;
                            };
                            time?: string;
                            message?: string;
                            rollbackOf?: string | null;
                            from?: string | null;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound, StageNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code PromotionRefused, Conflict, GitError) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Understood, but its content is not valid (code RevisionNotOnBranch) */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The Git server could not be reached (code GitUnavailable) */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/fleets/{name}/rollbacks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Roll a stage back to the revision it had before its last promotion: a new commit (never a history rewrite); 409 when there is nothing to roll back to */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        stage: string;
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id?: string;
                            /** @enum {string} */
                            kind?: "promotion" | "rollback";
                            stage: string;
                            revision: string;
                            commit?: string;
                            author?: {
                                name?: string;
                                email?: string;
                            };
                            time?: string;
                            message?: string;
                            rollbackOf?: string | null;
                            from?: string | null;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code FleetNotFound, StageNotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code RollbackRefused, Conflict, GitError) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The Git server could not be reached (code GitUnavailable) */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List API tokens (never the tokens themselves) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                name: string;
                                /** @enum {string} */
                                role: "admin" | "viewer" | "none";
                                createdAt: string;
                                expiresAt: string;
                                /** @description The caller that created it */
                                createdBy: string;
                            }[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Create an API token with a name, a role and an expiry; the token is in this answer only (it is stored hashed) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /**
                         * @description Installation-wide; 'none': only the roles projects give it (by its name)
                         * @enum {string}
                         */
                        role: "admin" | "viewer" | "none";
                        /** @description Seconds until it expires: 5 to one year (default 30 days) */
                        expiresInSeconds?: number;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            /** @enum {string} */
                            role: "admin" | "viewer" | "none";
                            createdAt: string;
                            expiresAt: string;
                            /** @description The caller that created it */
                            createdBy: string;
                            /** @description The bearer token, shown this once */
                            token: string;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code Conflict) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tokens/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke an API token: refused from the next request on */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Revoked */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code NotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/sso": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** How people sign in with single sign-on: the identity provider, the client and the scopes (404 when only tokens are accepted) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description The identity provider (GITFLEET_OIDC_ISSUER); its discovery document is at <issuer>/.well-known/openid-configuration */
                            issuer: string;
                            /** @description The public client to sign in with, by authorization code with PKCE (S256); the ID token it gets is the bearer token */
                            clientId: string;
                            /** @description The scopes to ask for (GITFLEET_OIDC_SCOPES), openid among them */
                            scopes: string[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code NotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the projects the caller has a role in (all, with an installation-wide role) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                name: string;
                                description: string;
                                /** @description Fleet names it may hold; * is any run of characters */
                                fleets: string[];
                                /** @description The clusters its fleets may select: a label selector */
                                clusters: string;
                                /** @description Namespaces its objects may be in; * is any run of characters */
                                namespaces: string[];
                                /** @description Whether its objects may be cluster-scoped (default false) */
                                clusterScoped: boolean;
                                /** @description Kinds refused: Kind or group/Kind, * as a pattern (rbac.authorization.k8s.io/*) */
                                deniedKinds: string[];
                                /** @description Repositories its fleets may come from; * is any run of characters */
                                repos: string[];
                                /** @description Who may read (viewer), sync, promote and roll back (operator), create and delete fleets (admin) */
                                roles: {
                                    viewer: {
                                        groups: string[];
                                        tokens: string[];
                                    };
                                    operator: {
                                        groups: string[];
                                        tokens: string[];
                                    };
                                    admin: {
                                        groups: string[];
                                        tokens: string[];
                                    };
                                };
                            }[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Create a project: the fleets, clusters, namespaces, kinds and repositories of a team, and who may do what */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        description?: string;
                        /** @description Fleet names it may hold; * is any run of characters */
                        fleets: string[];
                        /** @description The clusters its fleets may select: a label selector */
                        clusters: string;
                        /** @description Namespaces its objects may be in; * is any run of characters */
                        namespaces: string[];
                        /** @description Whether its objects may be cluster-scoped (default false) */
                        clusterScoped?: boolean;
                        /** @description Kinds refused: Kind or group/Kind, * as a pattern (rbac.authorization.k8s.io/*) */
                        deniedKinds?: string[];
                        /** @description Repositories its fleets may come from; * is any run of characters */
                        repos: string[];
                        /** @description Who may read (viewer), sync, promote and roll back (operator), create and delete fleets (admin) */
                        roles?: {
                            viewer?: {
                                groups?: string[];
                                tokens?: string[];
                            };
                            operator?: {
                                groups?: string[];
                                tokens?: string[];
                            };
                            admin?: {
                                groups?: string[];
                                tokens?: string[];
                            };
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            description: string;
                            /** @description Fleet names it may hold; * is any run of characters */
                            fleets: string[];
                            /** @description The clusters its fleets may select: a label selector */
                            clusters: string;
                            /** @description Namespaces its objects may be in; * is any run of characters */
                            namespaces: string[];
                            /** @description Whether its objects may be cluster-scoped (default false) */
                            clusterScoped: boolean;
                            /** @description Kinds refused: Kind or group/Kind, * as a pattern (rbac.authorization.k8s.io/*) */
                            deniedKinds: string[];
                            /** @description Repositories its fleets may come from; * is any run of characters */
                            repos: string[];
                            /** @description Who may read (viewer), sync, promote and roll back (operator), create and delete fleets (admin) */
                            roles: {
                                viewer: {
                                    groups: string[];
                                    tokens: string[];
                                };
                                operator: {
                                    groups: string[];
                                    tokens: string[];
                                };
                                admin: {
                                    groups: string[];
                                    tokens: string[];
                                };
                            };
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code Conflict) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A project */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            description: string;
                            /** @description Fleet names it may hold; * is any run of characters */
                            fleets: string[];
                            /** @description The clusters its fleets may select: a label selector */
                            clusters: string;
                            /** @description Namespaces its objects may be in; * is any run of characters */
                            namespaces: string[];
                            /** @description Whether its objects may be cluster-scoped (default false) */
                            clusterScoped: boolean;
                            /** @description Kinds refused: Kind or group/Kind, * as a pattern (rbac.authorization.k8s.io/*) */
                            deniedKinds: string[];
                            /** @description Repositories its fleets may come from; * is any run of characters */
                            repos: string[];
                            /** @description Who may read (viewer), sync, promote and roll back (operator), create and delete fleets (admin) */
                            roles: {
                                viewer: {
                                    groups: string[];
                                    tokens: string[];
                                };
                                operator: {
                                    groups: string[];
                                    tokens: string[];
                                };
                                admin: {
                                    groups: string[];
                                    tokens: string[];
                                };
                            };
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code NotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        /** Replace a project's rules and roles; its fleets plan again under them */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        description?: string;
                        /** @description Fleet names it may hold; * is any run of characters */
                        fleets: string[];
                        /** @description The clusters its fleets may select: a label selector */
                        clusters: string;
                        /** @description Namespaces its objects may be in; * is any run of characters */
                        namespaces: string[];
                        /** @description Whether its objects may be cluster-scoped (default false) */
                        clusterScoped?: boolean;
                        /** @description Kinds refused: Kind or group/Kind, * as a pattern (rbac.authorization.k8s.io/*) */
                        deniedKinds?: string[];
                        /** @description Repositories its fleets may come from; * is any run of characters */
                        repos: string[];
                        /** @description Who may read (viewer), sync, promote and roll back (operator), create and delete fleets (admin) */
                        roles?: {
                            viewer?: {
                                groups?: string[];
                                tokens?: string[];
                            };
                            operator?: {
                                groups?: string[];
                                tokens?: string[];
                            };
                            admin?: {
                                groups?: string[];
                                tokens?: string[];
                            };
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            description: string;
                            /** @description Fleet names it may hold; * is any run of characters */
                            fleets: string[];
                            /** @description The clusters its fleets may select: a label selector */
                            clusters: string;
                            /** @description Namespaces its objects may be in; * is any run of characters */
                            namespaces: string[];
                            /** @description Whether its objects may be cluster-scoped (default false) */
                            clusterScoped: boolean;
                            /** @description Kinds refused: Kind or group/Kind, * as a pattern (rbac.authorization.k8s.io/*) */
                            deniedKinds: string[];
                            /** @description Repositories its fleets may come from; * is any run of characters */
                            repos: string[];
                            /** @description Who may read (viewer), sync, promote and roll back (operator), create and delete fleets (admin) */
                            roles: {
                                viewer: {
                                    groups: string[];
                                    tokens: string[];
                                };
                                operator: {
                                    groups: string[];
                                    tokens: string[];
                                };
                                admin: {
                                    groups: string[];
                                    tokens: string[];
                                };
                            };
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code NotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        /** Delete a project; refused while fleets are in it */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code NotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code Conflict) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/webhooks/git": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Push webhook (GitHub X-Hub-Signature-256 or Gitea X-Gitea-Signature, HMAC-SHA256): queue a fetch of the matching fleets (202) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description An event other than push: nothing to do */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            event: string;
                            fleets: string[];
                        };
                    };
                };
                /** @description The fetch of each matching fleet is queued */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            event: string;
                            fleets: string[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code InvalidSignature) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/notification-targets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List notification targets with their health (never their URL or secret) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                name: string;
                                /** @enum {string} */
                                type: "slack" | "webhook";
                                /** @description The URL's host: the rest of the URL is a secret and is not shown */
                                host: string;
                                createdAt: string;
                                health: {
                                    /**
                                     * @description unknown until the first notification; failing: the last one was given up on
                                     * @enum {string}
                                     */
                                    state?: "unknown" | "ok" | "failing";
                                    /** @description The last answer's HTTP status */
                                    status?: number | null;
                                    /** @description Why it is failing (secret-free) */
                                    message?: string | null;
                                    failingSince?: string | null;
                                    lastDeliveryAt?: string | null;
                                    lastAttemptAt?: string | null;
                                    /** @description The last failed attempt that will be retried */
                                    retrying?: {
                                        status?: number | null;
                                        message?: string;
                                        at?: string;
                                    } | null;
                                };
                                /** @description Fleets whose fleet.yaml in force has a notify rule naming this target */
                                usedBy?: {
                                    fleet?: string;
                                    file?: string;
                                    line?: number | null;
                                }[];
                            }[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Create a notification target: a Slack incoming webhook (`slack`: the URL is the secret) or a JSON webhook signed with HMAC-SHA256 (`webhook`: a secret is generated and returned once when none is given). URL and secret are sealed and never shown again */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description 1-63 lowercase letters, digits and '-' */
                        name: string;
                        /** @enum {string} */
                        type: "slack" | "webhook";
                        /** @description http(s) URL the notifications are POSTed to, without a #fragment */
                        url: string;
                        /** @description webhook only: the HMAC key (16-256 characters); default: generated */
                        secret?: string;
                    } | {
                        /** @enum {unknown} */
                        type?: "webhook";
                    } | unknown;
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            /** @enum {string} */
                            type: "slack" | "webhook";
                            /** @description The URL's host: the rest of the URL is a secret and is not shown */
                            host: string;
                            createdAt: string;
                            health: {
                                /**
                                 * @description unknown until the first notification; failing: the last one was given up on
                                 * @enum {string}
                                 */
                                state?: "unknown" | "ok" | "failing";
                                /** @description The last answer's HTTP status */
                                status?: number | null;
                                /** @description Why it is failing (secret-free) */
                                message?: string | null;
                                failingSince?: string | null;
                                lastDeliveryAt?: string | null;
                                lastAttemptAt?: string | null;
                                /** @description The last failed attempt that will be retried */
                                retrying?: {
                                    status?: number | null;
                                    message?: string;
                                    at?: string;
                                } | null;
                            };
                            /** @description Fleets whose fleet.yaml in force has a notify rule naming this target */
                            usedBy?: {
                                fleet?: string;
                                file?: string;
                                line?: number | null;
                            }[];
                            /** @description The generated webhook secret, shown this once (absent when one was given) */
                            secret?: string;
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code Conflict) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/notification-targets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a notification target: its host, health (ok, or failing with the last answer's status and message) and the fleets whose rules name it */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            /** @enum {string} */
                            type: "slack" | "webhook";
                            /** @description The URL's host: the rest of the URL is a secret and is not shown */
                            host: string;
                            createdAt: string;
                            health: {
                                /**
                                 * @description unknown until the first notification; failing: the last one was given up on
                                 * @enum {string}
                                 */
                                state?: "unknown" | "ok" | "failing";
                                /** @description The last answer's HTTP status */
                                status?: number | null;
                                /** @description Why it is failing (secret-free) */
                                message?: string | null;
                                failingSince?: string | null;
                                lastDeliveryAt?: string | null;
                                lastAttemptAt?: string | null;
                                /** @description The last failed attempt that will be retried */
                                retrying?: {
                                    status?: number | null;
                                    message?: string;
                                    at?: string;
                                } | null;
                            };
                            /** @description Fleets whose fleet.yaml in force has a notify rule naming this target */
                            usedBy?: {
                                fleet?: string;
                                file?: string;
                                line?: number | null;
                            }[];
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code NotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete a notification target. Refused (409) while a fleet's notify rules name it, unless force=true (those rules then make the fleet's head a bad commit) */
        delete: {
            parameters: {
                query?: {
                    force?: "true" | "false";
                };
                header?: never;
                path: {
                    /** @description 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The token may not do this (code Forbidden) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found (code NotFound) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description In conflict with the current state (code Conflict) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is larger than this endpoint reads (code InvalidRequest) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description A path segment is too long (code InvalidRequest) */
                414: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body is not JSON (code InvalidRequest) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/whoami": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller: its name, installation-wide role and project roles (the dashboard asks once, at login) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            /** @enum {string} */
                            role: "admin" | "viewer" | "none";
                            /** @description Project name → role (viewer, operator, admin) */
                            projects: {
                                [key: string]: "viewer" | "operator" | "admin";
                            };
                        };
                    };
                };
                /** @description The request is not valid (code InvalidRequest) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No token, or a token not recognised (code Unauthorized) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Redis is unreachable: retry (code StoreUnavailable) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Error: {
            /** @description Stable and machine-readable: branch on this, not on the message */
            code: string;
            /** @description What is wrong and what to change, for a person */
            message: string;
            /** @description More, for some codes: the problems of a fleet.yaml, the clusters a gate waits for */
            details?: unknown;
        };
        Cluster: {
            name: string;
            labels: {
                [key: string]: string;
            };
            createdAt: string;
            registered: boolean;
            connected: boolean;
            lastSeen: string | null;
            agentVersion: string | null;
            kubernetesVersion: string | null;
        };
        Fleet: {
            name: string;
            repo: string;
            branch: string;
            path: string;
            /** @description The project the fleet is in (none: installation admins only) */
            project: string | null;
            pollIntervalSeconds: number;
            createdAt: string;
            /** @description A commit id */
            head: string | null;
            /** @description A commit id */
            lastGoodRevision: string | null;
            /** @enum {string|null} */
            source: "manifests" | "helm" | "kustomize" | null;
            chartVersion: string | null;
            lastSyncAt: string | null;
            conditions: {
                /** @enum {string} */
                type: "Ready" | "Fetched" | "Rendered" | "Stalled";
                /** @enum {string} */
                status: "True" | "False" | "Unknown";
                reason: string;
                message: string;
                lastTransitionTime: string;
            }[];
            fetchError: string | null;
            errors: {
                code: string;
                file: string;
                line?: number;
                /** @description Starts with `file:line: ` */
                message: string;
            }[];
            stages: {
                name: string;
                /** @enum {string} */
                follows: "head" | "pinned";
                /** @description A commit id */
                revision: string | null;
                /** @description Helm fleets: the chart version that revision renders */
                chartVersion?: string | null;
                requires: string | null;
                clusters: number;
                /** @description Clusters of the stage per phase (Unknown: never reported) */
                phases: {
                    [key: string]: number;
                };
                rollout: {
                    /** @enum {string} */
                    state: "progressing" | "complete" | "halted";
                    revision: string;
                    /** @description A commit id */
                    previousRevision?: string | null;
                    /** @description The wave moving (1-based) */
                    wave: number;
                    waves: number;
                    waveClusters: string[][];
                    /** @description Why a halted rollout halted */
                    reason: string | null;
                } | null;
            }[];
            /** @description The fleet.yaml in force, as read (docs/concepts.md) */
            policy: {
                [key: string]: unknown;
            } | null;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
