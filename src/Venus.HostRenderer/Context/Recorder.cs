using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Context;

/// <summary>
/// --record: every command a context ran, in order, one command per record, in one file per context
/// (<see cref="VenusRecording"/>). <c>venus dump FILE</c> prints them as decoded calls.
/// </summary>
internal sealed class Recorder : IDisposable
{
    readonly VenusRecording.Writer _writer;

    public Recorder(string dir, string label)
    {
        Directory.CreateDirectory(dir);
        _writer = new VenusRecording.Writer(System.IO.Path.Combine(dir, VenusRecording.Writer.SafeName(label)));
    }

    public string Path => _writer.Path;

    public void Write(string stream, ReadOnlySpan<byte> command) => _writer.Write(stream, command);

    public void Dispose() => _writer.Dispose();
}
