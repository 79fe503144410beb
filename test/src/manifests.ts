// Manifests the end-to-end suites put in their fleets' repositories.

/** A small Deployment that kwok runs (its pods become Ready without containers). */
export function webDeployment(namespace: string, replicas = 1): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: ghcr.io/stefanprodan/podinfo:6.7.0
`;
}
