using System.Runtime.InteropServices;

namespace Venus.Transport.Virtgpu;

/// <summary>What a failed virtio-gpu operation means to a driver.</summary>
public enum VirtgpuErrorKind
{
    /// <summary>The call failed or the device is not usable (wrong driver, closed, lost).</summary>
    Failed,
    /// <summary>The kernel or the host could not allocate (ENOMEM): the request may succeed smaller or later.</summary>
    OutOfMemory,
}

/// <summary>
/// A failed virtio-gpu operation: a system call that returned an error (<see cref="Errno"/> is its
/// errno) or a device that is not what it must be (<see cref="Errno"/> is 0). <see cref="Kind"/> says
/// what it means, so that a driver never reads errno values itself.
/// </summary>
public sealed class VirtgpuException : Exception
{
    public VirtgpuException(string operation, int errno, string message)
        : base(message)
    {
        Operation = operation;
        Errno = errno;
        Kind = errno == Venus.Native.Libc.ENOMEM ? VirtgpuErrorKind.OutOfMemory : VirtgpuErrorKind.Failed;
    }

    /// <summary>What the failure means (out of memory, or a failure that loses the device).</summary>
    public VirtgpuErrorKind Kind { get; }

    /// <summary>What failed: an ioctl name ("VIRTGPU_CONTEXT_INIT"), "open", "mmap", ...</summary>
    public string Operation { get; }

    /// <summary>The errno of the failed call; 0 when no call failed (say, the wrong driver).</summary>
    public int Errno { get; }

    /// <summary>"&lt;operation&gt; failed on &lt;path&gt;: Invalid argument (EINVAL)".</summary>
    internal static VirtgpuException Failed(string operation, string path, int errno) =>
        new(operation, errno, $"{operation} failed on {path}: {Describe(errno)}");

    /// <summary>"Invalid argument (EINVAL)": strerror's text and the errno's name.</summary>
    public static string Describe(int errno)
    {
        string text = Marshal.GetPInvokeErrorMessage(errno);
        string? name = ErrnoName(errno);
        return name is null ? $"{text} (errno {errno})" : $"{text} ({name})";
    }

    /// <summary>The symbolic name of a Linux errno (generic numbering: x86, arm, riscv), or null.</summary>
    public static string? ErrnoName(int errno) => errno switch
    {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        4 => "EINTR",
        5 => "EIO",
        6 => "ENXIO",
        7 => "E2BIG",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        23 => "ENFILE",
        24 => "EMFILE",
        25 => "ENOTTY",
        27 => "EFBIG",
        28 => "ENOSPC",
        34 => "ERANGE",
        38 => "ENOSYS",
        62 => "ETIME",
        75 => "EOVERFLOW",
        95 => "EOPNOTSUPP",
        110 => "ETIMEDOUT",
        125 => "ECANCELED",
        _ => null,
    };
}
