using System.Text;
using Venus.Native;

namespace Venus.Transport.Vtest.Server;

/// <summary>
/// Anonymous shared memory (a sealed-size memfd, mapped MAP_SHARED read/write) for blob_id-0
/// blobs: what virglrenderer's "vkr-shmem" is. A renderer creates one in
/// <see cref="IVtestRenderer.CreateBlob"/>, returns <see cref="DuplicateFd"/> to the server (which
/// sends it to the client and closes it) and reads the guest's writes through <see cref="Pointer"/>.
/// Dispose unmaps and closes this copy; the client's mapping stays valid.
/// </summary>
public sealed unsafe class VtestSharedMemory : IDisposable
{
    private byte* _pointer;
    private int _fd;

    private VtestSharedMemory(int fd, byte* pointer, ulong size)
    {
        _fd = fd;
        _pointer = pointer;
        Size = size;
    }

    /// <summary>Creates a zero-filled memfd of <paramref name="size"/> bytes and maps it.</summary>
    /// <param name="name">The memfd's debug name (shows in /proc/PID/fd as memfd:NAME).</param>
    /// <exception cref="IOException">memfd_create, ftruncate or mmap failed (message has the errno).</exception>
    public static VtestSharedMemory Create(string name, ulong size)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfZero(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, (ulong)long.MaxValue);

        int nameBytes = Encoding.UTF8.GetByteCount(name);
        Span<byte> cName = nameBytes < 240 ? stackalloc byte[nameBytes + 1] : new byte[nameBytes + 1];
        Encoding.UTF8.GetBytes(name, cName);
        cName[nameBytes] = 0;

        int fd;
        fixed (byte* namePointer = cName)
            fd = Libc.MemfdCreate(namePointer, Libc.MFD_CLOEXEC);
        if (fd < 0)
            throw Failure("memfd_create", name, size, Libc.LastError);

        if (Libc.Ftruncate(fd, (long)size) != 0)
        {
            int errno = Libc.LastError;
            Libc.Close(fd);
            throw Failure("ftruncate", name, size, errno);
        }

        void* mapped = Libc.Mmap(null, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (mapped == Libc.MAP_FAILED)
        {
            int errno = Libc.LastError;
            Libc.Close(fd);
            throw Failure("mmap", name, size, errno);
        }
        return new VtestSharedMemory(fd, (byte*)mapped, size);
    }

    public ulong Size { get; }

    /// <summary>This object's fd; -1 after dispose. Do not close it; hand out <see cref="DuplicateFd"/>.</summary>
    public int Fd => _fd;

    public bool IsDisposed => _fd < 0;

    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _pointer;
        }
    }

    /// <summary>The whole mapping (up to 2 GiB; use <see cref="GetSpan"/> beyond).</summary>
    public Span<byte> Span => GetSpan(0, checked((int)Size));

    public Span<byte> GetSpan(ulong offset, int length)
    {
        byte* pointer = Pointer;
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > Size || (ulong)length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) lies outside shared memory of {Size} bytes");
        return new Span<byte>(pointer + offset, length);
    }

    /// <summary>A new close-on-exec fd for the same memory, owned by the caller (e.g. to return from <see cref="IVtestRenderer.CreateBlob"/>).</summary>
    public int DuplicateFd()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        int fd = Libc.Fcntl(_fd, Libc.F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Libc.LastError;
            throw new IOException($"dup of shared memory fd {_fd} failed: {Libc.Describe(errno)}");
        }
        return fd;
    }

    public void Dispose()
    {
        if (_fd < 0)
            return;
        Libc.Munmap(_pointer, (nuint)Size);
        _pointer = null;
        Libc.Close(_fd);
        _fd = -1;
    }

    private static IOException Failure(string call, string name, ulong size, int errno) =>
        new($"{call} for shared memory '{name}' ({size} bytes) failed: {Libc.Describe(errno)}");
}
