using Venus.Native;

namespace Venus.Transport.Vtest;

/// <summary>
/// A blob resource from RESOURCE_CREATE_BLOB: the server's resource id, the fd it passed, and
/// (for mappable blobs) a MAP_SHARED read/write mapping of it. Dispose unmaps, closes the fd and
/// sends RESOURCE_UNREF. Not thread-safe against use during <see cref="Dispose"/>.
/// </summary>
public sealed unsafe class VtestBlob : IDisposable
{
    private readonly VtestClient _client;
    private byte* _pointer;
    private int _fd;

    internal VtestBlob(VtestClient client, uint resourceId, int fd, byte* pointer, ulong size,
        VtestBlobType type, VtestBlobFlags flags, ulong blobId)
    {
        _client = client;
        _fd = fd;
        _pointer = pointer;
        ResourceId = resourceId;
        Size = size;
        Type = type;
        Flags = flags;
        BlobId = blobId;
    }

    /// <summary>The id the venus stream names this blob by (e.g. <c>VkCommandStreamDescriptionMESA.resourceId</c>).</summary>
    public uint ResourceId { get; }

    /// <summary>The passed fd (shm or dma-buf); owned by this object, -1 after dispose.</summary>
    public int Fd => _fd;

    public ulong Size { get; }
    public VtestBlobType Type { get; }
    public VtestBlobFlags Flags { get; }
    public ulong BlobId { get; }

    public bool IsDisposed => _fd < 0;

    /// <summary>Start of the mapping; null for a blob created without <see cref="VtestBlobFlags.Mappable"/>.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _pointer;
        }
    }

    /// <summary>The whole mapping (blobs up to 2 GiB; use <see cref="GetSpan"/> past that).</summary>
    public Span<byte> Span => GetSpan(0, checked((int)Size));

    public Span<byte> GetSpan(ulong offset, int length)
    {
        byte* pointer = Pointer;
        if (pointer == null)
            throw new InvalidOperationException($"blob resource {ResourceId} was created without the MAPPABLE flag");
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > Size || (ulong)length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) lies outside blob resource {ResourceId} of {Size} bytes");
        return new Span<byte>(pointer + offset, length);
    }

    public void Dispose()
    {
        if (_fd < 0)
            return;
        if (_pointer != null)
        {
            Libc.Munmap(_pointer, (nuint)Size);
            _pointer = null;
        }
        Libc.Close(_fd);
        _fd = -1;
        // A broken or closed connection already dropped the resource server-side.
        _client.TryUnrefResource(ResourceId);
    }

    public override string ToString() => $"vtest blob resource {ResourceId} ({Type}, {Flags}, {Size} bytes, blob id {BlobId})";
}
