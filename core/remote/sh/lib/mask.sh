# shellcheck shell=sh
# mask: credentials in a proxy URL on stdin become [secret] (the same form as maskUrlCredentials in
# core/proxy/proxyFiles.ts); a scheme-less proxy value (user:pw@host:port, which Go accepts) too.

mask() { sed -e 's#://[^@/[:space:]]*@#://[secret]@#g' -e 's#^[^:/@[:space:]]*:[^@/[:space:]]*@#[secret]@#'; }
