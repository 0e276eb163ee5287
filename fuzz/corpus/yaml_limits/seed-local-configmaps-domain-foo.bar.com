apiVersion: v1
kind: ConfigMap
metadata:
  name: domain-foo.bar.com
  namespace: higress-system
data:
  domain: foo.bar.com
  enableHttps: "off"
