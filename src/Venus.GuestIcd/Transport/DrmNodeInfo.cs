using System.Globalization;
using System.Runtime.InteropServices;
using Venus.Native;

namespace Venus.GuestIcd.Transport;

/// <summary>A PCI address (domain:bus:device.function), as VK_EXT_pci_bus_info reports it.</summary>
internal readonly record struct PciBusInfo(uint Domain, uint Bus, uint Device, uint Function);

/// <summary>
/// The DRM device behind a transport, as VK_EXT_physical_device_drm and VK_EXT_pci_bus_info report
/// it: the render node's device number, the primary node's (<c>cardN</c>) when it exists in
/// <c>/dev/dri</c>, and the PCI address of the device. Read from the node and sysfs:
/// <c>/sys/dev/char/MAJOR:MINOR</c> is the node's sysfs folder; its <c>device</c> link leads to the
/// device, which for virtio-gpu is a virtio device (<c>virtioN</c>) whose parent folder is the PCI
/// device, named <c>DDDD:BB:DD.F</c>; the folder next to the node lists the device's other nodes.
/// </summary>
internal sealed record DrmNodeInfo(
    bool HasPrimary, long PrimaryMajor, long PrimaryMinor,
    long RenderMajor, long RenderMinor,
    PciBusInfo? Pci)
{
    /// <summary>
    /// What <paramref name="renderNode"/> (a character device) tells; null when it is not one or
    /// cannot be examined. Never throws.
    /// </summary>
    public static DrmNodeInfo? Query(string renderNode)
    {
        try
        {
            if (!CharDeviceNumber(renderNode, out long major, out long minor))
                return null;
            return FromSysfs(major, minor, "/sys", "/dev/dri");
        }
        catch
        {
            return null;
        }
    }

    /// <summary>The rest, from a render node's device number (separate so tests can give a fake sysfs tree).</summary>
    public static DrmNodeInfo FromSysfs(long renderMajor, long renderMinor, string sysRoot, string devDir)
    {
        bool hasPrimary = false;
        long primaryMajor = 0, primaryMinor = 0;
        PciBusInfo? pci = null;

        string? node = RealPath(Path.Combine(sysRoot, "dev", "char", $"{renderMajor}:{renderMinor}"));
        if (node is not null)
        {
            // The device's nodes sit side by side: .../drm/card0, .../drm/renderD128.
            if (Path.GetDirectoryName(node) is { } nodes && Directory.Exists(nodes))
            {
                foreach (string dir in Directory.EnumerateDirectories(nodes, "card*").Order(StringComparer.Ordinal))
                {
                    string name = Path.GetFileName(dir);
                    if (!IsNumbered(name, "card") || !File.Exists(Path.Combine(devDir, name)))
                        continue;
                    if (TryReadDeviceNumber(Path.Combine(dir, "dev"), out primaryMajor, out primaryMinor))
                    {
                        hasPrimary = true;
                        break;
                    }
                }
            }
            pci = PciAddress(Path.Combine(node, "device"));
        }
        return new DrmNodeInfo(hasPrimary, primaryMajor, primaryMinor, renderMajor, renderMinor, pci);
    }

    /// <summary>The PCI device the DRM device is (or, for virtio, sits on); null when it is on no PCI bus.</summary>
    private static PciBusInfo? PciAddress(string deviceLink)
    {
        string? device = RealPath(deviceLink);
        if (device is null)
            return null;
        if (Subsystem(device) == "virtio")
            device = Path.GetDirectoryName(device);
        if (device is null || Subsystem(device) != "pci")
            return null;
        return ParsePciName(Path.GetFileName(device));
    }

    private static string? Subsystem(string deviceDir) =>
        RealPath(Path.Combine(deviceDir, "subsystem")) is { } s ? Path.GetFileName(s) : null;

    /// <summary>"0000:00:01.0" (hex domain, bus, device; function).</summary>
    public static PciBusInfo? ParsePciName(string name)
    {
        string[] parts = name.Split(':');
        if (parts.Length != 3)
            return null;
        string[] devFn = parts[2].Split('.');
        if (devFn.Length != 2)
            return null;
        const NumberStyles hex = NumberStyles.AllowHexSpecifier;
        if (!uint.TryParse(parts[0], hex, CultureInfo.InvariantCulture, out uint domain) ||
            !uint.TryParse(parts[1], hex, CultureInfo.InvariantCulture, out uint bus) ||
            !uint.TryParse(devFn[0], hex, CultureInfo.InvariantCulture, out uint dev) ||
            !uint.TryParse(devFn[1], hex, CultureInfo.InvariantCulture, out uint function))
            return null;
        return new PciBusInfo(domain, bus, dev, function);
    }

    private static bool IsNumbered(string name, string prefix) =>
        name.Length > prefix.Length && name.StartsWith(prefix, StringComparison.Ordinal) &&
        name.AsSpan(prefix.Length).IndexOfAnyExceptInRange('0', '9') < 0;

    /// <summary>A sysfs "dev" file: "MAJOR:MINOR\n".</summary>
    private static bool TryReadDeviceNumber(string file, out long major, out long minor)
    {
        major = minor = 0;
        if (!File.Exists(file))
            return false;
        string[] parts = File.ReadAllText(file).Trim().Split(':');
        return parts.Length == 2 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out major) &&
               long.TryParse(parts[1], CultureInfo.InvariantCulture, out minor);
    }

    private static unsafe string? RealPath(string path)
    {
        byte* resolved;
        fixed (byte* name = Utf8(path))
            resolved = Libc.RealPath(name, null);
        if (resolved == null)
            return null;
        try
        {
            return Marshal.PtrToStringUTF8((nint)resolved);
        }
        finally
        {
            NativeMemory.Free(resolved); // malloc'd by realpath; NativeMemory.Free is free(3)
        }
    }

    /// <summary>statx(2): the device number of a character device (architecture-independent layout).</summary>
    private static unsafe bool CharDeviceNumber(string path, out long major, out long minor)
    {
        major = minor = 0;
        const int AtFdCwd = -100;
        const uint StatxType = 0x1, StatxMode = 0x2;
        const ushort TypeMask = 0xf000, CharDevice = 0x2000;
        byte* buffer = stackalloc byte[256];
        new Span<byte>(buffer, 256).Clear();
        fixed (byte* name = Utf8(path))
        {
            if (Libc.Statx(AtFdCwd, name, 0, StatxType | StatxMode, buffer) != 0)
                return false;
        }
        ushort mode = *(ushort*)(buffer + 28);   // stx_mode
        if ((mode & TypeMask) != CharDevice)
            return false;
        major = *(uint*)(buffer + 128);           // stx_rdev_major
        minor = *(uint*)(buffer + 132);           // stx_rdev_minor
        return true;
    }

    /// <summary>A path as a NUL-terminated UTF-8 string.</summary>
    private static byte[] Utf8(string path) => [.. System.Text.Encoding.UTF8.GetBytes(path), 0];
}
