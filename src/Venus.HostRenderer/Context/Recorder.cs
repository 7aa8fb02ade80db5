namespace Venus.HostRenderer.Context;

/// <summary>
/// --record: every command a context ran, in order, as records of
/// <c>u32 stream-name length, name bytes, u32 command length, command bytes</c> in one file per context.
/// <c>venus dump FILE</c> prints them as decoded calls.
/// </summary>
internal sealed class Recorder : IDisposable
{
    public const uint Magic = 0x53554e56; // "VNUS"
    readonly FileStream _file;
    readonly object _lock = new();

    public Recorder(string dir, string label)
    {
        Directory.CreateDirectory(dir);
        var safe = string.Concat(label.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        Path = System.IO.Path.Combine(dir, $"{safe}.venus");
        _file = new FileStream(Path, FileMode.Create, FileAccess.Write, FileShare.Read);
        Span<byte> m = stackalloc byte[4];
        BitConverter.TryWriteBytes(m, Magic);
        _file.Write(m);
    }

    public string Path { get; }

    public void Write(string stream, ReadOnlySpan<byte> command)
    {
        Span<byte> n = stackalloc byte[4];
        lock (_lock)
        {
            var name = System.Text.Encoding.ASCII.GetBytes(stream);
            BitConverter.TryWriteBytes(n, (uint)name.Length);
            _file.Write(n);
            _file.Write(name);
            BitConverter.TryWriteBytes(n, (uint)command.Length);
            _file.Write(n);
            _file.Write(command);
        }
    }

    public void Dispose()
    {
        lock (_lock) _file.Dispose();
    }
}
