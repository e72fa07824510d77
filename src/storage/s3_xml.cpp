#include "storage/s3_xml.h"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <ctime>
#include <sstream>

namespace cdn::storage {
namespace {

namespace pt = boost::property_tree;

std::optional<pt::ptree> read_xml(std::string_view xml) {
    std::istringstream in{std::string(xml)};
    pt::ptree tree;
    try {
        pt::read_xml(in, tree);
    } catch (const pt::xml_parser_error&) {
        return std::nullopt;
    }
    return tree;
}

std::int64_t parse_time(std::string_view text, const char* format) {
    std::tm utc{};
    const std::string copy(text);
    if (strptime(copy.c_str(), format, &utc) == nullptr) {
        return 0;
    }
    return static_cast<std::int64_t>(timegm(&utc));
}

ObjectInfo object_info(const pt::ptree& contents) {
    ObjectInfo info;
    info.key = contents.get<std::string>("Key", "");
    info.size = contents.get<std::uint64_t>("Size", 0);
    info.last_modified = parse_iso8601(contents.get<std::string>("LastModified", ""));
    info.etag = unquote_etag(contents.get<std::string>("ETag", ""));
    return info;
}

} // namespace

core::Result<S3ListResult> parse_list_result(std::string_view xml) {
    const auto tree = read_xml(xml);
    const auto* result = tree ? tree->get_child_optional("ListBucketResult").get_ptr() : nullptr;
    if (result == nullptr) {
        return core::make_error(core::Errc::OriginUnavailable, "the image store is unavailable",
                                "s3: the list answer is not a ListBucketResult");
    }
    S3ListResult out;
    for (const auto& [name, child] : *result) {
        if (name == "Contents") {
            out.items.push_back(object_info(child));
        }
    }
    out.truncated = result->get<std::string>("IsTruncated", "false") == "true";
    return out;
}

std::string parse_error_summary(std::string_view xml) {
    const auto tree = read_xml(xml);
    const auto* error = tree ? tree->get_child_optional("Error").get_ptr() : nullptr;
    if (error == nullptr) {
        return "";
    }
    return error->get<std::string>("Code", "") + ": " + error->get<std::string>("Message", "");
}

std::string parse_upload_id(std::string_view xml) {
    const auto tree = read_xml(xml);
    return tree ? tree->get<std::string>("InitiateMultipartUploadResult.UploadId", "") : "";
}

std::string parse_complete_etag(std::string_view xml) {
    const auto tree = read_xml(xml);
    return tree ? tree->get<std::string>("CompleteMultipartUploadResult.ETag", "") : "";
}

std::string complete_multipart_xml(const std::vector<std::string>& part_etags) {
    pt::ptree parts;
    for (std::size_t i = 0; i < part_etags.size(); ++i) {
        pt::ptree part;
        part.put("PartNumber", i + 1);
        part.put("ETag", part_etags[i]);
        parts.add_child("Part", part);
    }
    pt::ptree document;
    document.add_child("CompleteMultipartUpload", parts);
    std::ostringstream out;
    pt::write_xml(out, document);
    return out.str();
}

std::int64_t parse_iso8601(std::string_view text) {
    return parse_time(text, "%Y-%m-%dT%H:%M:%S");
}

std::int64_t parse_http_date(std::string_view text) {
    return parse_time(text, "%a, %d %b %Y %H:%M:%S");
}

std::string unquote_etag(std::string_view etag) {
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
        etag = etag.substr(1, etag.size() - 2);
    }
    return std::string(etag);
}

} // namespace cdn::storage
