/** An `Authorization` header value for HTTP basic auth. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * `url` with `user` and `password` as its user info (`http://user:password@host:port`), as a Redis URL carries its
 * password: the project's JSON client sends it as basic auth. For the lab's tools; never print it.
 */
export function withUserInfo(url: string, user: string, password: string): string {
  const withCredentials = new URL(url);
  withCredentials.username = user;
  withCredentials.password = password;
  return withCredentials.toString().replace(/\/$/, '');
}
