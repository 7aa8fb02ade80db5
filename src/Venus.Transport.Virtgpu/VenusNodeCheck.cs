namespace Venus.Transport.Virtgpu;

/// <summary>
/// What a virtio-gpu render node must offer before a Venus driver can use it (fact sheet §7): 3D,
/// the capset query fix, blob resources, a host-visible window, context init and the venus capset
/// (id 4). The guest ICD refuses a node with any of these missing, and <c>venus doctor</c> reports
/// the same list, so the two never disagree about why a node is unusable.
/// </summary>
public static class VenusNodeCheck
{
    /// <summary>The venus capset's id in VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs.</summary>
    public const int VenusCapsetId = 4;

    private static readonly (VirtgpuParam Param, string What)[] Required =
    [
        (VirtgpuParam.ThreeDFeatures, "3D features (VIRTGPU_PARAM_3D_FEATURES)"),
        (VirtgpuParam.CapsetQueryFix, "capset query fix (VIRTGPU_PARAM_CAPSET_QUERY_FIX)"),
        (VirtgpuParam.ResourceBlob, "blob resources (VIRTGPU_PARAM_RESOURCE_BLOB)"),
        (VirtgpuParam.HostVisible, "host-visible memory window (VIRTGPU_PARAM_HOST_VISIBLE)"),
        (VirtgpuParam.ContextInit, "context init (VIRTGPU_PARAM_CONTEXT_INIT)"),
    ];

    /// <summary>Each thing <paramref name="device"/> lacks for Venus ("no blob resources (...)"); empty when nothing is missing.</summary>
    public static List<string> Missing(VirtgpuDevice device)
    {
        var missing = new List<string>();
        foreach ((VirtgpuParam param, string what) in Required)
        {
            if (!device.TryGetParam(param, out ulong value) || value == 0)
                missing.Add("no " + what);
        }
        if (!device.TryGetParam(VirtgpuParam.SupportedCapsetIds, out ulong capsets))
            missing.Add("no capset list (VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs)");
        else if ((capsets & (1UL << VenusCapsetId)) == 0)
            missing.Add($"no venus capset (the device offers {DescribeCapsets(capsets)})");
        return missing;
    }

    /// <summary>The capsets of a VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs mask by name ("virgl, virgl2").</summary>
    public static string DescribeCapsets(ulong mask)
    {
        var names = new List<string>();
        for (int id = 0; id < 64; id++)
        {
            if ((mask & (1UL << id)) == 0)
                continue;
            names.Add(id switch
            {
                1 => "virgl",
                2 => "virgl2",
                3 => "gfxstream-vulkan",
                4 => "venus",
                5 => "cross-domain",
                6 => "drm",
                _ => $"capset {id}",
            });
        }
        return names.Count == 0 ? "none" : string.Join(", ", names);
    }
}
