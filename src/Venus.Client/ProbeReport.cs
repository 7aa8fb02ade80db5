using Venus.Protocol.Vulkan;

namespace Venus.Client;

/// <summary>What <c>venus probe</c> learnt from a vtest host.</summary>
public sealed record ProbeReport(
    string SocketPath,
    uint VtestProtocolVersion,
    CapsetReport Capset,
    uint InstanceVersion,
    uint InstanceApiVersion,
    IReadOnlyList<DeviceReport> Devices);

public sealed record CapsetReport(
    uint WireFormatVersion,
    uint VkXmlVersion,
    uint CommandSerializationSpecVersion,
    uint VenusProtocolSpecVersion,
    int ExtensionCount);

public sealed record DeviceReport(
    ulong ObjectId,
    string Name,
    uint ApiVersion,
    uint DriverVersion,
    uint VendorId,
    uint DeviceId,
    VkPhysicalDeviceType DeviceType,
    IReadOnlyList<QueueFamilyReport> QueueFamilies,
    IReadOnlyList<MemoryHeapReport> MemoryHeaps,
    IReadOnlyList<MemoryTypeReport> MemoryTypes,
    IReadOnlyList<ExtensionReport> Extensions);

public sealed record QueueFamilyReport(uint Flags, uint QueueCount, uint TimestampValidBits,
    uint GranularityWidth, uint GranularityHeight, uint GranularityDepth);

public sealed record MemoryHeapReport(ulong Size, uint Flags);

public sealed record MemoryTypeReport(uint PropertyFlags, uint HeapIndex);

public sealed record ExtensionReport(string Name, uint SpecVersion);
