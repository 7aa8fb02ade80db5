using System.Runtime.InteropServices;
using Silk.NET.Vulkan;
using VkBuffer = Silk.NET.Vulkan.Buffer;

namespace Venus.Sample;

/// <summary>
/// venus-sample SHADER_DIR: a compute job (out[i] = i² + 7 over 4096 uints) and an offscreen render
/// (one coloured triangle into a 64×64 RGBA8 image, read back through a buffer) on the first device
/// the loader gives, printing a line per result that any correct Vulkan driver must print the same
/// way. SHADER_DIR holds square.comp.spv, triangle.vert.spv and triangle.frag.spv. Exit 0 on
/// success, 1 with a message on any Vulkan error, 2 on bad arguments.
/// </summary>
public static unsafe class Program
{
    const uint Count = 4096;
    const uint Width = 64, Height = 64;

    public static int Main(string[] args)
    {
        if (args.Length != 1 || !Directory.Exists(args[0]))
        {
            Console.Error.WriteLine("usage: venus-sample SHADER_DIR (a folder with square.comp.spv, triangle.vert.spv, triangle.frag.spv)");
            return 2;
        }
        try
        {
            using var app = new SampleApp(args[0]);
            Console.WriteLine($"device: {app.DeviceName}");
            Console.WriteLine(app.Compute());
            Console.WriteLine(app.Render());
            return 0;
        }
        catch (VulkanException e)
        {
            Console.Error.WriteLine($"venus-sample: {e.Message}");
            return 1;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"venus-sample: {e.Message}");
            return 1;
        }
    }

    sealed class VulkanException(string message) : Exception(message);

    static void Check(Result r, string what)
    {
        if (r != Result.Success)
            throw new VulkanException($"{what} failed: {r}");
    }

    /// <summary>FNV-1a over bytes: one number that differs when any byte does.</summary>
    static ulong Fnv(ReadOnlySpan<byte> data)
    {
        ulong h = 14695981039346656037;
        foreach (byte b in data)
            h = (h ^ b) * 1099511628211;
        return h;
    }

    sealed class SampleApp : IDisposable
    {
        readonly Vk _vk = Vk.GetApi();
        readonly string _shaders;
        readonly Instance _instance;
        readonly PhysicalDevice _physical;
        readonly Device _device;
        readonly Queue _queue;
        readonly uint _family;
        readonly CommandPool _pool;
        readonly PhysicalDeviceMemoryProperties _memory;

        public string DeviceName { get; }

        public SampleApp(string shaders)
        {
            _shaders = shaders;
            nint name = Marshal.StringToHGlobalAnsi("venus-sample");
            try
            {
                var appInfo = new ApplicationInfo
                {
                    SType = StructureType.ApplicationInfo, PApplicationName = (byte*)name, ApplicationVersion = 1,
                    PEngineName = (byte*)name, EngineVersion = 1, ApiVersion = Vk.Version11,
                };
                var info = new InstanceCreateInfo { SType = StructureType.InstanceCreateInfo, PApplicationInfo = &appInfo };
                Check(_vk.CreateInstance(in info, null, out _instance), "vkCreateInstance");
            }
            finally
            {
                Marshal.FreeHGlobal(name);
            }

            uint count = 0;
            Check(_vk.EnumeratePhysicalDevices(_instance, ref count, null), "vkEnumeratePhysicalDevices");
            if (count == 0)
                throw new VulkanException("no physical device");
            var devices = new PhysicalDevice[count];
            fixed (PhysicalDevice* p = devices)
                Check(_vk.EnumeratePhysicalDevices(_instance, ref count, p), "vkEnumeratePhysicalDevices");
            _physical = devices[0];
            _vk.GetPhysicalDeviceProperties(_physical, out PhysicalDeviceProperties props);
            DeviceName = Marshal.PtrToStringUTF8((nint)props.DeviceName) ?? "?";
            _vk.GetPhysicalDeviceMemoryProperties(_physical, out _memory);

            uint families = 0;
            _vk.GetPhysicalDeviceQueueFamilyProperties(_physical, ref families, null);
            var familyProps = new QueueFamilyProperties[families];
            fixed (QueueFamilyProperties* p = familyProps)
                _vk.GetPhysicalDeviceQueueFamilyProperties(_physical, ref families, p);
            int family = Array.FindIndex(familyProps, f => (f.QueueFlags & (QueueFlags.GraphicsBit | QueueFlags.ComputeBit)) == (QueueFlags.GraphicsBit | QueueFlags.ComputeBit));
            if (family < 0)
                throw new VulkanException("no queue family with graphics and compute");
            _family = (uint)family;

            float priority = 1;
            var queueInfo = new DeviceQueueCreateInfo { SType = StructureType.DeviceQueueCreateInfo, QueueFamilyIndex = _family, QueueCount = 1, PQueuePriorities = &priority };
            var deviceInfo = new DeviceCreateInfo { SType = StructureType.DeviceCreateInfo, QueueCreateInfoCount = 1, PQueueCreateInfos = &queueInfo };
            Check(_vk.CreateDevice(_physical, in deviceInfo, null, out _device), "vkCreateDevice");
            _vk.GetDeviceQueue(_device, _family, 0, out _queue);
            var poolInfo = new CommandPoolCreateInfo { SType = StructureType.CommandPoolCreateInfo, QueueFamilyIndex = _family };
            Check(_vk.CreateCommandPool(_device, in poolInfo, null, out _pool), "vkCreateCommandPool");
        }

        uint MemoryType(uint bits, MemoryPropertyFlags wanted)
        {
            for (int i = 0; i < _memory.MemoryTypeCount; i++)
            {
                if ((bits & (1u << i)) != 0 && (_memory.MemoryTypes[i].PropertyFlags & wanted) == wanted)
                    return (uint)i;
            }
            throw new VulkanException($"no memory type with {wanted} in bits 0x{bits:x}");
        }

        (VkBuffer Buffer, DeviceMemory Memory) HostBuffer(ulong size, BufferUsageFlags usage)
        {
            var info = new BufferCreateInfo { SType = StructureType.BufferCreateInfo, Size = size, Usage = usage, SharingMode = SharingMode.Exclusive };
            Check(_vk.CreateBuffer(_device, in info, null, out VkBuffer buffer), "vkCreateBuffer");
            _vk.GetBufferMemoryRequirements(_device, buffer, out MemoryRequirements req);
            var alloc = new MemoryAllocateInfo
            {
                SType = StructureType.MemoryAllocateInfo, AllocationSize = req.Size,
                MemoryTypeIndex = MemoryType(req.MemoryTypeBits, MemoryPropertyFlags.HostVisibleBit | MemoryPropertyFlags.HostCoherentBit),
            };
            Check(_vk.AllocateMemory(_device, in alloc, null, out DeviceMemory memory), "vkAllocateMemory");
            Check(_vk.BindBufferMemory(_device, buffer, memory, 0), "vkBindBufferMemory");
            return (buffer, memory);
        }

        ShaderModule Shader(string file)
        {
            byte[] code = File.ReadAllBytes(Path.Combine(_shaders, file));
            fixed (byte* p = code)
            {
                var info = new ShaderModuleCreateInfo { SType = StructureType.ShaderModuleCreateInfo, CodeSize = (nuint)code.Length, PCode = (uint*)p };
                Check(_vk.CreateShaderModule(_device, in info, null, out ShaderModule module), "vkCreateShaderModule " + file);
                return module;
            }
        }

        CommandBuffer Begin()
        {
            var info = new CommandBufferAllocateInfo { SType = StructureType.CommandBufferAllocateInfo, CommandPool = _pool, Level = CommandBufferLevel.Primary, CommandBufferCount = 1 };
            Check(_vk.AllocateCommandBuffers(_device, in info, out CommandBuffer cmd), "vkAllocateCommandBuffers");
            var begin = new CommandBufferBeginInfo { SType = StructureType.CommandBufferBeginInfo, Flags = CommandBufferUsageFlags.OneTimeSubmitBit };
            Check(_vk.BeginCommandBuffer(cmd, in begin), "vkBeginCommandBuffer");
            return cmd;
        }

        void SubmitAndWait(CommandBuffer cmd)
        {
            Check(_vk.EndCommandBuffer(cmd), "vkEndCommandBuffer");
            var fenceInfo = new FenceCreateInfo { SType = StructureType.FenceCreateInfo };
            Check(_vk.CreateFence(_device, in fenceInfo, null, out Fence fence), "vkCreateFence");
            var submit = new SubmitInfo { SType = StructureType.SubmitInfo, CommandBufferCount = 1, PCommandBuffers = &cmd };
            Check(_vk.QueueSubmit(_queue, 1, in submit, fence), "vkQueueSubmit");
            Check(_vk.WaitForFences(_device, 1, in fence, true, 10_000_000_000), "vkWaitForFences");
            _vk.DestroyFence(_device, fence, null);
            _vk.FreeCommandBuffers(_device, _pool, 1, in cmd);
        }

        /// <summary>The compute job; its line holds the values' sum and hash, and whether each is what the shader means.</summary>
        public string Compute()
        {
            ulong size = Count * sizeof(uint);
            (VkBuffer buffer, DeviceMemory memory) = HostBuffer(size, BufferUsageFlags.StorageBufferBit);
            var binding = new DescriptorSetLayoutBinding { Binding = 0, DescriptorType = DescriptorType.StorageBuffer, DescriptorCount = 1, StageFlags = ShaderStageFlags.ComputeBit };
            var layoutInfo = new DescriptorSetLayoutCreateInfo { SType = StructureType.DescriptorSetLayoutCreateInfo, BindingCount = 1, PBindings = &binding };
            Check(_vk.CreateDescriptorSetLayout(_device, in layoutInfo, null, out DescriptorSetLayout setLayout), "vkCreateDescriptorSetLayout");
            var pipelineLayoutInfo = new PipelineLayoutCreateInfo { SType = StructureType.PipelineLayoutCreateInfo, SetLayoutCount = 1, PSetLayouts = &setLayout };
            Check(_vk.CreatePipelineLayout(_device, in pipelineLayoutInfo, null, out PipelineLayout layout), "vkCreatePipelineLayout");
            ShaderModule module = Shader("square.comp.spv");
            nint main = Marshal.StringToHGlobalAnsi("main");
            Pipeline pipeline;
            try
            {
                var stage = new PipelineShaderStageCreateInfo { SType = StructureType.PipelineShaderStageCreateInfo, Stage = ShaderStageFlags.ComputeBit, Module = module, PName = (byte*)main };
                var info = new ComputePipelineCreateInfo { SType = StructureType.ComputePipelineCreateInfo, Stage = stage, Layout = layout };
                Check(_vk.CreateComputePipelines(_device, default, 1, in info, null, out pipeline), "vkCreateComputePipelines");
            }
            finally
            {
                Marshal.FreeHGlobal(main);
            }
            var poolSize = new DescriptorPoolSize { Type = DescriptorType.StorageBuffer, DescriptorCount = 1 };
            var poolInfo = new DescriptorPoolCreateInfo { SType = StructureType.DescriptorPoolCreateInfo, MaxSets = 1, PoolSizeCount = 1, PPoolSizes = &poolSize };
            Check(_vk.CreateDescriptorPool(_device, in poolInfo, null, out DescriptorPool pool), "vkCreateDescriptorPool");
            var allocInfo = new DescriptorSetAllocateInfo { SType = StructureType.DescriptorSetAllocateInfo, DescriptorPool = pool, DescriptorSetCount = 1, PSetLayouts = &setLayout };
            Check(_vk.AllocateDescriptorSets(_device, in allocInfo, out DescriptorSet set), "vkAllocateDescriptorSets");
            var bufferInfo = new DescriptorBufferInfo { Buffer = buffer, Offset = 0, Range = size };
            var write = new WriteDescriptorSet { SType = StructureType.WriteDescriptorSet, DstSet = set, DstBinding = 0, DescriptorCount = 1, DescriptorType = DescriptorType.StorageBuffer, PBufferInfo = &bufferInfo };
            _vk.UpdateDescriptorSets(_device, 1, in write, 0, null);

            CommandBuffer cmd = Begin();
            _vk.CmdBindPipeline(cmd, PipelineBindPoint.Compute, pipeline);
            _vk.CmdBindDescriptorSets(cmd, PipelineBindPoint.Compute, layout, 0, 1, in set, 0, null);
            _vk.CmdDispatch(cmd, Count / 64, 1, 1);
            var barrier = new MemoryBarrier { SType = StructureType.MemoryBarrier, SrcAccessMask = AccessFlags.ShaderWriteBit, DstAccessMask = AccessFlags.HostReadBit };
            _vk.CmdPipelineBarrier(cmd, PipelineStageFlags.ComputeShaderBit, PipelineStageFlags.HostBit, 0, 1, in barrier, 0, null, 0, null);
            SubmitAndWait(cmd);

            void* mapped;
            Check(_vk.MapMemory(_device, memory, 0, size, 0, &mapped), "vkMapMemory");
            var values = new ReadOnlySpan<uint>(mapped, (int)Count);
            ulong sum = 0;
            int wrong = 0;
            for (int i = 0; i < values.Length; i++)
            {
                sum += values[i];
                if (values[i] != (uint)(i * i + 7))
                    wrong++;
            }
            string line = $"compute: {Count} values, sum {sum}, fnv {Fnv(MemoryMarshal.AsBytes(values)):x16}, {wrong} wrong";
            _vk.UnmapMemory(_device, memory);

            _vk.DestroyDescriptorPool(_device, pool, null);
            _vk.DestroyPipeline(_device, pipeline, null);
            _vk.DestroyShaderModule(_device, module, null);
            _vk.DestroyPipelineLayout(_device, layout, null);
            _vk.DestroyDescriptorSetLayout(_device, setLayout, null);
            _vk.DestroyBuffer(_device, buffer, null);
            _vk.FreeMemory(_device, memory, null);
            if (wrong != 0)
                throw new VulkanException(line);
            return line;
        }

        /// <summary>The offscreen render; its line holds the image's hash and how many pixels the triangle covered.</summary>
        public string Render()
        {
            const Format format = Format.R8G8B8A8Unorm;
            var imageInfo = new ImageCreateInfo
            {
                SType = StructureType.ImageCreateInfo, ImageType = ImageType.Type2D, Format = format,
                Extent = new Extent3D(Width, Height, 1), MipLevels = 1, ArrayLayers = 1, Samples = SampleCountFlags.Count1Bit,
                Tiling = ImageTiling.Optimal, Usage = ImageUsageFlags.ColorAttachmentBit | ImageUsageFlags.TransferSrcBit,
                SharingMode = SharingMode.Exclusive, InitialLayout = ImageLayout.Undefined,
            };
            Check(_vk.CreateImage(_device, in imageInfo, null, out Image image), "vkCreateImage");
            _vk.GetImageMemoryRequirements(_device, image, out MemoryRequirements req);
            var alloc = new MemoryAllocateInfo { SType = StructureType.MemoryAllocateInfo, AllocationSize = req.Size, MemoryTypeIndex = MemoryType(req.MemoryTypeBits, 0) };
            Check(_vk.AllocateMemory(_device, in alloc, null, out DeviceMemory imageMemory), "vkAllocateMemory (image)");
            Check(_vk.BindImageMemory(_device, image, imageMemory, 0), "vkBindImageMemory");
            var viewInfo = new ImageViewCreateInfo
            {
                SType = StructureType.ImageViewCreateInfo, Image = image, ViewType = ImageViewType.Type2D, Format = format,
                SubresourceRange = new ImageSubresourceRange(ImageAspectFlags.ColorBit, 0, 1, 0, 1),
            };
            Check(_vk.CreateImageView(_device, in viewInfo, null, out ImageView view), "vkCreateImageView");

            var attachment = new AttachmentDescription
            {
                Format = format, Samples = SampleCountFlags.Count1Bit, LoadOp = AttachmentLoadOp.Clear, StoreOp = AttachmentStoreOp.Store,
                StencilLoadOp = AttachmentLoadOp.DontCare, StencilStoreOp = AttachmentStoreOp.DontCare,
                InitialLayout = ImageLayout.Undefined, FinalLayout = ImageLayout.TransferSrcOptimal,
            };
            var colorRef = new AttachmentReference { Attachment = 0, Layout = ImageLayout.ColorAttachmentOptimal };
            var subpass = new SubpassDescription { PipelineBindPoint = PipelineBindPoint.Graphics, ColorAttachmentCount = 1, PColorAttachments = &colorRef };
            var dependency = new SubpassDependency
            {
                SrcSubpass = 0, DstSubpass = Vk.SubpassExternal,
                SrcStageMask = PipelineStageFlags.ColorAttachmentOutputBit, DstStageMask = PipelineStageFlags.TransferBit,
                SrcAccessMask = AccessFlags.ColorAttachmentWriteBit, DstAccessMask = AccessFlags.TransferReadBit,
            };
            var passInfo = new RenderPassCreateInfo
            {
                SType = StructureType.RenderPassCreateInfo, AttachmentCount = 1, PAttachments = &attachment,
                SubpassCount = 1, PSubpasses = &subpass, DependencyCount = 1, PDependencies = &dependency,
            };
            Check(_vk.CreateRenderPass(_device, in passInfo, null, out RenderPass pass), "vkCreateRenderPass");
            var fbInfo = new FramebufferCreateInfo
            {
                SType = StructureType.FramebufferCreateInfo, RenderPass = pass, AttachmentCount = 1, PAttachments = &view,
                Width = Width, Height = Height, Layers = 1,
            };
            Check(_vk.CreateFramebuffer(_device, in fbInfo, null, out Framebuffer framebuffer), "vkCreateFramebuffer");

            var layoutInfo = new PipelineLayoutCreateInfo { SType = StructureType.PipelineLayoutCreateInfo };
            Check(_vk.CreatePipelineLayout(_device, in layoutInfo, null, out PipelineLayout layout), "vkCreatePipelineLayout");
            ShaderModule vert = Shader("triangle.vert.spv"), frag = Shader("triangle.frag.spv");
            Pipeline pipeline = GraphicsPipeline(vert, frag, layout, pass);

            ulong size = Width * Height * 4;
            (VkBuffer readback, DeviceMemory readbackMemory) = HostBuffer(size, BufferUsageFlags.TransferDstBit);
            CommandBuffer cmd = Begin();
            var clear = new ClearValue(new ClearColorValue(0.1f, 0.1f, 0.1f, 1.0f));
            var begin = new RenderPassBeginInfo
            {
                SType = StructureType.RenderPassBeginInfo, RenderPass = pass, Framebuffer = framebuffer,
                RenderArea = new Rect2D(new Offset2D(0, 0), new Extent2D(Width, Height)), ClearValueCount = 1, PClearValues = &clear,
            };
            _vk.CmdBeginRenderPass(cmd, in begin, SubpassContents.Inline);
            _vk.CmdBindPipeline(cmd, PipelineBindPoint.Graphics, pipeline);
            _vk.CmdDraw(cmd, 3, 1, 0, 0);
            _vk.CmdEndRenderPass(cmd);
            var copy = new BufferImageCopy
            {
                ImageSubresource = new ImageSubresourceLayers(ImageAspectFlags.ColorBit, 0, 0, 1),
                ImageExtent = new Extent3D(Width, Height, 1),
            };
            _vk.CmdCopyImageToBuffer(cmd, image, ImageLayout.TransferSrcOptimal, readback, 1, in copy);
            var barrier = new MemoryBarrier { SType = StructureType.MemoryBarrier, SrcAccessMask = AccessFlags.TransferWriteBit, DstAccessMask = AccessFlags.HostReadBit };
            _vk.CmdPipelineBarrier(cmd, PipelineStageFlags.TransferBit, PipelineStageFlags.HostBit, 0, 1, in barrier, 0, null, 0, null);
            SubmitAndWait(cmd);

            void* mapped;
            Check(_vk.MapMemory(_device, readbackMemory, 0, size, 0, &mapped), "vkMapMemory");
            var pixels = new ReadOnlySpan<byte>(mapped, (int)size);
            int covered = 0;
            for (int i = 0; i < pixels.Length; i += 4)
            {
                // The clear colour is 0.1 grey (26 in UNORM); the triangle's pixels are not.
                if (pixels[i] != 26 || pixels[i + 1] != 26 || pixels[i + 2] != 26)
                    covered++;
            }
            string line = $"render: {Width}x{Height} RGBA8, fnv {Fnv(pixels):x16}, {covered} pixels covered";
            _vk.UnmapMemory(_device, readbackMemory);

            _vk.DestroyBuffer(_device, readback, null);
            _vk.FreeMemory(_device, readbackMemory, null);
            _vk.DestroyPipeline(_device, pipeline, null);
            _vk.DestroyShaderModule(_device, vert, null);
            _vk.DestroyShaderModule(_device, frag, null);
            _vk.DestroyPipelineLayout(_device, layout, null);
            _vk.DestroyFramebuffer(_device, framebuffer, null);
            _vk.DestroyRenderPass(_device, pass, null);
            _vk.DestroyImageView(_device, view, null);
            _vk.DestroyImage(_device, image, null);
            _vk.FreeMemory(_device, imageMemory, null);
            if (covered == 0)
                throw new VulkanException(line + ": the triangle is missing");
            return line;
        }

        Pipeline GraphicsPipeline(ShaderModule vert, ShaderModule frag, PipelineLayout layout, RenderPass pass)
        {
            nint main = Marshal.StringToHGlobalAnsi("main");
            try
            {
                var stages = stackalloc PipelineShaderStageCreateInfo[2];
                stages[0] = new PipelineShaderStageCreateInfo { SType = StructureType.PipelineShaderStageCreateInfo, Stage = ShaderStageFlags.VertexBit, Module = vert, PName = (byte*)main };
                stages[1] = new PipelineShaderStageCreateInfo { SType = StructureType.PipelineShaderStageCreateInfo, Stage = ShaderStageFlags.FragmentBit, Module = frag, PName = (byte*)main };
                var vertexInput = new PipelineVertexInputStateCreateInfo { SType = StructureType.PipelineVertexInputStateCreateInfo };
                var assembly = new PipelineInputAssemblyStateCreateInfo { SType = StructureType.PipelineInputAssemblyStateCreateInfo, Topology = PrimitiveTopology.TriangleList };
                var viewport = new Viewport(0, 0, Width, Height, 0, 1);
                var scissor = new Rect2D(new Offset2D(0, 0), new Extent2D(Width, Height));
                var viewportState = new PipelineViewportStateCreateInfo { SType = StructureType.PipelineViewportStateCreateInfo, ViewportCount = 1, PViewports = &viewport, ScissorCount = 1, PScissors = &scissor };
                var raster = new PipelineRasterizationStateCreateInfo
                {
                    SType = StructureType.PipelineRasterizationStateCreateInfo, PolygonMode = PolygonMode.Fill,
                    CullMode = CullModeFlags.None, FrontFace = FrontFace.CounterClockwise, LineWidth = 1,
                };
                var multisample = new PipelineMultisampleStateCreateInfo { SType = StructureType.PipelineMultisampleStateCreateInfo, RasterizationSamples = SampleCountFlags.Count1Bit };
                var blendAttachment = new PipelineColorBlendAttachmentState
                {
                    ColorWriteMask = ColorComponentFlags.RBit | ColorComponentFlags.GBit | ColorComponentFlags.BBit | ColorComponentFlags.ABit,
                };
                var blend = new PipelineColorBlendStateCreateInfo { SType = StructureType.PipelineColorBlendStateCreateInfo, AttachmentCount = 1, PAttachments = &blendAttachment };
                var info = new GraphicsPipelineCreateInfo
                {
                    SType = StructureType.GraphicsPipelineCreateInfo, StageCount = 2, PStages = stages,
                    PVertexInputState = &vertexInput, PInputAssemblyState = &assembly, PViewportState = &viewportState,
                    PRasterizationState = &raster, PMultisampleState = &multisample, PColorBlendState = &blend,
                    Layout = layout, RenderPass = pass, Subpass = 0,
                };
                Check(_vk.CreateGraphicsPipelines(_device, default, 1, in info, null, out Pipeline pipeline), "vkCreateGraphicsPipelines");
                return pipeline;
            }
            finally
            {
                Marshal.FreeHGlobal(main);
            }
        }

        public void Dispose()
        {
            _vk.DeviceWaitIdle(_device);
            _vk.DestroyCommandPool(_device, _pool, null);
            _vk.DestroyDevice(_device, null);
            _vk.DestroyInstance(_instance, null);
            _vk.Dispose();
        }
    }
}
