// The Apache modules whose behaviour wsgi-bin provides: <IfModule> is true for these (by source file
// name or module identifier, as httpd accepts both) and LoadModule of one of them needs nothing.
const MODULES: [file: string, id: string][] = [
  ["core.c", "core_module"],
  ["http_core.c", "http_module"],
  ["mod_so.c", "so_module"],
  ["mod_wsgi.c", "wsgi_module"],
  ["mod_alias.c", "alias_module"],
  ["mod_rewrite.c", "rewrite_module"],
  ["mod_dir.c", "dir_module"],
  ["mod_autoindex.c", "autoindex_module"],
  ["mod_mime.c", "mime_module"],
  ["mod_log_config.c", "log_config_module"],
  ["mod_headers.c", "headers_module"],
  ["mod_env.c", "env_module"],
  ["mod_setenvif.c", "setenvif_module"],
  ["mod_authz_core.c", "authz_core_module"],
  ["mod_authz_host.c", "authz_host_module"],
  ["mod_authz_user.c", "authz_user_module"],
  ["mod_authz_groupfile.c", "authz_groupfile_module"],
  ["mod_auth_basic.c", "auth_basic_module"],
  ["mod_authn_core.c", "authn_core_module"],
  ["mod_authn_file.c", "authn_file_module"],
  ["mod_ssl.c", "ssl_module"],
  ["mod_status.c", "status_module"],
];

const NAMES = new Set(MODULES.flat());

export function hasModule(name: string): boolean {
  return NAMES.has(name);
}
