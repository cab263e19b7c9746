/// The Hummingbird application (routes, request context, auth, pages, JSON API) lives here.
/// It arrives with the server issue.
public enum OssaWeb {}
