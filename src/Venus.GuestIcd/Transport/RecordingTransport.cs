using Venus.GuestIcd.Runtime;
using Venus.Protocol;
using Venus.Protocol.Wire;

namespace Venus.GuestIcd.Transport;

/// <summary>
/// <c>VENUS_RECORD=DIR</c>: what this process sends to the host, in the format venus-host's
/// <c>--record</c> writes (<see cref="VenusRecording"/>), so a user's bug report is a file that
/// <c>venus dump</c> prints, whichever host it ran against (virglrenderer too). The virqueue
/// traffic is recorded here, ring traffic by <see cref="GuestRing.Submit"/>; one file per process,
/// <c>DIR/&lt;process name&gt;-&lt;pid&gt;.venus</c>, flushed at each submission.
/// </summary>
internal sealed class RecordingTransport(IGuestTransport inner, VenusRecording.Writer writer) : IGuestTransport
{
    /// <summary>The process's recording, opened on first use when VENUS_RECORD names a folder; null otherwise.</summary>
    public static VenusRecording.Writer? Writer => s_writer.Value;

    private static readonly Lazy<VenusRecording.Writer?> s_writer = new(Open);

    private static VenusRecording.Writer? Open()
    {
        string? dir = Environment.GetEnvironmentVariable("VENUS_RECORD");
        if (string.IsNullOrEmpty(dir))
            return null;
        try
        {
            Directory.CreateDirectory(dir);
            string comm = File.Exists("/proc/self/comm") ? File.ReadAllText("/proc/self/comm").Trim() : "venus-icd";
            var writer = new VenusRecording.Writer(Path.Combine(dir, VenusRecording.Writer.SafeName($"{comm}-{Environment.ProcessId}")));
            IcdLog.Info($"recording what is sent to the host into {writer.Path} (VENUS_RECORD)");
            return writer;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            IcdLog.Error($"VENUS_RECORD={dir}: cannot record there ({e.Message}); running without a recording");
            return null;
        }
    }

    /// <summary><paramref name="transport"/> itself, or wrapped so its virtqueue traffic is recorded when VENUS_RECORD is set.</summary>
    public static IGuestTransport Wrap(IGuestTransport transport) =>
        Writer is { } writer ? new RecordingTransport(transport, writer) : transport;

    public string Name => inner.Name;
    public VenusCapset Capset => inner.Capset;
    public GuestShmem CreateShmem(ulong size) => inner.CreateShmem(size);
    public GuestShmem CreateMemoryBlob(ulong memoryId, ulong size, bool mappable) => inner.CreateMemoryBlob(memoryId, size, mappable);
    public GuestShmem CreateShareableMemoryBlob(ulong memoryId, ulong size, bool mappable) => inner.CreateShareableMemoryBlob(memoryId, size, mappable);
    public bool SharesMemoryFds => inner.SharesMemoryFds;
    public bool ProbesMemoryFds => inner.ProbesMemoryFds;
    public void SyncVirtqueue(ReadOnlySpan<byte> stream) => inner.SyncVirtqueue(stream);
    public int ExportBlobFd(GuestShmem blob) => inner.ExportBlobFd(blob);
    public bool TryImportMemoryFd(int fd, out uint resourceId, out IDisposable? hold, out string why) =>
        inner.TryImportMemoryFd(fd, out resourceId, out hold, out why);
    public bool IsHostGone() => inner.IsHostGone();
    public DrmNodeInfo? DrmInfo => inner.DrmInfo;
    public bool SharesMappedMemory => inner.SharesMappedMemory;

    public void SubmitVirtqueue(ReadOnlySpan<byte> stream)
    {
        writer.Write("virtqueue", stream);
        writer.Flush();
        inner.SubmitVirtqueue(stream);
    }

    public IRetireSignal? SignalRetire(uint ringIdx, ReadOnlySpan<byte> stream)
    {
        writer.Write("virtqueue", stream);
        writer.Flush();
        return inner.SignalRetire(ringIdx, stream);
    }

    public void Dispose()
    {
        writer.Flush();
        inner.Dispose();
    }
}
