public enum OssaStatsNamespace {}
