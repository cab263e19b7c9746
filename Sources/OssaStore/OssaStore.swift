/// Persistence (FluentKit models, numbered migrations, repositories, SQLKit read models) lives here.
/// It arrives with the server issue; the target exists now so that nothing above it grows SQL of its own.
public enum OssaStore {}
