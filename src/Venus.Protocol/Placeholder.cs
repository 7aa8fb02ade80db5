namespace Venus.Protocol; public static class Placeholder {}
