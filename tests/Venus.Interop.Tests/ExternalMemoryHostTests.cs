using System.Diagnostics;
using Venus.Client;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Xunit.Abstractions;
using static Venus.Client.VtestVenusSession;

namespace Venus.Interop.Tests;

/// <summary>
/// venus-host's exportable memory against a hostile guest (Families/ExternalMemory.cs): an fd number
/// in <c>VkImportMemoryFdInfoKHR</c> ends the context; an import by a resource id that is not a blob
/// of exported memory in this context, export handle types the host does not offer, and an export on
/// a device without VK_KHR_external_memory_fd are VK_ERROR_INVALID_EXTERNAL_HANDLE (the context goes
/// on); a valid exportable allocation still works afterwards.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed unsafe class ExternalMemoryHostTests(InteropFixture fx, ITestOutputHelper output)
{
    const uint OpaqueFd = 0x1, D3D11Texture = 0x20;

    [Fact]
    public void BadImportsAndExportsAreRefusedOrEndOnlyThatContext()
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost);
        using (VtestVenusSession s = Open(host.SocketPath, "extmem-refused"))
        {
            var g = new Guest(s, memoryFd: true);
            Assert.Equal(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, g.Allocate(exportTypes: 0, importResource: 12345, out _));
            Assert.Equal(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, g.Allocate(exportTypes: D3D11Texture, importResource: 0, out _));
            Assert.Equal(VkResult.VK_SUCCESS, g.Allocate(exportTypes: OpaqueFd, importResource: 0, out ulong exported));
            Assert.NotEqual(0ul, exported);
        }
        using (VtestVenusSession s = Open(host.SocketPath, "extmem-plain"))
        {
            var plain = new Guest(s, memoryFd: false);
            Assert.Equal(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, plain.Allocate(exportTypes: OpaqueFd, importResource: 0, out _));
        }
        string log = host.ReadLog();
        output.WriteLine(log);
        Assert.DoesNotContain("fatal: ", log);
        Assert.Contains("resource 12345 is not a blob of exported device memory in this context", log);

        using (VtestVenusSession s = Open(host.SocketPath, "extmem-fd"))
        {
            s.Timeout = TimeSpan.FromSeconds(5);
            var g = new Guest(s, memoryFd: true);
            Exception? e = Record.Exception(() => g.ImportFd(fd: 0));
            output.WriteLine($"the client saw {e?.GetType().Name}: {e?.Message}");
            Assert.NotNull(e);
        }
        string line = WaitForLine(host, "-extmem-fd: fatal: ");
        output.WriteLine(line);
        Assert.Contains("VkImportMemoryFdInfoKHR names a file descriptor", line);
        Assert.True(host.IsAlive, host.LogTail());

        using (VtestVenusSession s = Open(host.SocketPath, "extmem-after"))
        {
            var g = new Guest(s, memoryFd: true);
            Assert.Equal(VkResult.VK_SUCCESS, g.Allocate(exportTypes: OpaqueFd, importResource: 0, out _));
        }
    }

    static string WaitForLine(RunningHost host, string marker)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string? line = host.ReadLog().Split('\n').FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal));
            if (line != null) return line;
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) return $"(no line with '{marker}' in the host log)\n{host.LogTail()}";
            Thread.Sleep(20);
        }
    }

    /// <summary>One instance, its first physical device and a device (with VK_KHR_external_memory_fd when asked).</summary>
    sealed class Guest
    {
        readonly VtestVenusSession _s;
        readonly ulong _device;

        public Guest(VtestVenusSession s, bool memoryFd)
        {
            _s = s;
            ulong instance = VenusProbe.CreateInstance(s, VenusProbe.MaxApiVersion);
            ulong physicalDevice = VenusProbe.EnumeratePhysicalDevices(s, instance)[0];
            float priority = 1;
            var queueInfo = new VkDeviceQueueCreateInfo { sType = VkDeviceQueueCreateInfo.SType, queueCount = 1, pQueuePriorities = &priority };
            fixed (byte* ext = "VK_KHR_external_memory_fd\0"u8)
            {
                byte* name = ext;
                var info = new VkDeviceCreateInfo
                {
                    sType = VkDeviceCreateInfo.SType, queueCreateInfoCount = 1, pQueueCreateInfos = &queueInfo,
                    enabledExtensionCount = memoryFd ? 1u : 0u, ppEnabledExtensionNames = &name,
                };
                ulong device = s.NewObjectId();
                var e = s.BeginCall(vkCreateDevice.Size(physicalDevice, &info, null, &device, s.Filter), vkCreateDevice.ReplySize(physicalDevice, &info, null, &device));
                vkCreateDevice.Encode(ref e, Reply, physicalDevice, &info, null, &device);
                var d = s.Submit(e);
                s.Check(d, vkCreateDevice.DecodeReply(ref d, physicalDevice, &info, null, &device));
                _device = device;
            }
        }

        public VkResult Allocate(uint exportTypes, uint importResource, out ulong memory)
        {
            var export = new VkExportMemoryAllocateInfo { sType = VkExportMemoryAllocateInfo.SType, handleTypes = exportTypes };
            var import = new VkImportMemoryResourceInfoMESA { sType = VkImportMemoryResourceInfoMESA.SType, resourceId = importResource };
            var info = new VkMemoryAllocateInfo
            {
                sType = VkMemoryAllocateInfo.SType, allocationSize = 65536, memoryTypeIndex = 0,
                pNext = importResource != 0 ? &import : exportTypes != 0 ? &export : null,
            };
            ulong id = _s.NewObjectId();
            var e = _s.BeginCall(vkAllocateMemory.Size(_device, &info, null, &id, _s.Filter), vkAllocateMemory.ReplySize(_device, &info, null, &id));
            vkAllocateMemory.Encode(ref e, Reply, _device, &info, null, &id);
            var d = _s.Submit(e);
            VkResult r = vkAllocateMemory.DecodeReply(ref d, _device, &info, null, &id);
            _s.Check(d);
            memory = r == VkResult.VK_SUCCESS ? id : 0;
            return r;
        }

        public void ImportFd(int fd)
        {
            var import = new VkImportMemoryFdInfoKHR { sType = VkImportMemoryFdInfoKHR.SType, handleType = (VkExternalMemoryHandleTypeFlagBits)OpaqueFd, fd = fd };
            var info = new VkMemoryAllocateInfo { sType = VkMemoryAllocateInfo.SType, allocationSize = 65536, memoryTypeIndex = 0, pNext = &import };
            ulong id = _s.NewObjectId();
            var e = _s.BeginCall(vkAllocateMemory.Size(_device, &info, null, &id, _s.Filter), vkAllocateMemory.ReplySize(_device, &info, null, &id));
            vkAllocateMemory.Encode(ref e, Reply, _device, &info, null, &id);
            var d = _s.Submit(e);
            _s.Check(d, vkAllocateMemory.DecodeReply(ref d, _device, &info, null, &id));
        }
    }
}
